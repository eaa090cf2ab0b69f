// `--dcs-url DCS://HOST:PORT/NAMESPACE` (ctl.md §1): parsing, and replacing the DCS section of
// a configuration tree with what the URL names. Pure functions, no I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace custos::ctl {

struct DcsUrl {
  std::string scheme;  // etcd, etcd3, zookeeper, consul or exhibitor
  std::string host;    // "localhost" when the URL names none; IPv6 without brackets
  int port = 0;        // the scheme's default port when the URL names none
  std::optional<std::string> namespace_;  // the path when it is not "/" or empty
};

// Parses the URL with patronictl's rules: a missing scheme is guessed from the port (2379 ->
// etcd) and defaults to etcd; default host localhost; default ports etcd/etcd3 2379,
// zookeeper 2181, consul 8500, exhibitor 8181; a non-root path is the namespace. Errors:
// unknown scheme, bad port, unparsable authority.
Result<DcsUrl, std::string> parse_dcs_url(std::string_view text);

// "host:port", with brackets around an IPv6 host.
std::string host_port(const DcsUrl& url);

// The configuration with every DCS section removed and the one the URL describes put in
// (`etcd: {host: H:P}`, `zookeeper: {hosts: [H:P]}`, `consul: {host: H:P}`,
// `exhibitor: {hosts: [H], port: P}`), plus `namespace` when the URL has a path.
nlohmann::json apply_dcs_url(nlohmann::json config, const DcsUrl& url);

}  // namespace custos::ctl
