// `custos --generate-sample-config` and `--generate-config` (Patroni 4.1): a configuration file for
// this host, as text in Patroni's layout (sections in a fixed order, the bootstrap comments,
// keys sorted inside each section, values to fill in marked '#FIXME'). The sample is built from
// the host name and address, `postgres --version` and the PATRONI_* variables; the generated one
// also reads a running server (pg_settings, pg_hba.conf, pg_ident.conf, postmaster.pid).
// Blocking (runs `postgres --version`, connects to PostgreSQL with bounded waits, may prompt for
// a password); errors are Patroni's messages; PATRONI_* values of the wrong shape are replaced.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "config/env.h"

namespace custos::postgres {

// What the generators take from the machine; replaced in tests.
struct GeneratorHost {
  std::string hostname;  // "#FIXME" when unknown
  std::string address;   // first address of the host name (IPv4 first); "#FIXME" when unknown
  // Major version of the postgres binary as server_version_num (150000, 90600); an error text
  // when it cannot be run.
  std::function<Result<int, std::string>(const std::string& postgres_binary)> postgres_version;
  // For --generate-config: the password prompt when neither the DSN nor PGPASSWORD has one.
  std::function<std::string()> ask_password;
};

// The host this runs on: gethostname(), getaddrinfo(), `postgres --version`, a prompt on the tty.
GeneratorHost this_host();

// The sample configuration text (no trailing newline, as Patroni writes it).
Result<std::string, std::string> generate_sample_config(const config::EnvMap& env, const GeneratorHost& host);

// The configuration of the server reached with `dsn` (empty: libpq defaults and PG* variables).
Result<std::string, std::string> generate_config_from_server(const std::string& dsn, const config::EnvMap& env,
                                                             const GeneratorHost& host);

// The text layout shared by both: Patroni's section order and bootstrap comments.
std::string render_generated_config(const nlohmann::json& config);

}  // namespace custos::postgres
