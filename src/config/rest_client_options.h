// How an agent or custosctl calls a member's REST API, read from the configuration as Patroni's
// request helper reads it: each TLS and authentication setting is taken from `ctl` first and,
// when absent or empty there, from `restapi` (certfile, keyfile, keyfile_password, the basic
// authentication); the CA bundle is `ctl.cacert`, else `restapi.cafile`. `ctl.insecure`
// (Python truthiness) turns certificate verification off, except that a client certificate
// keeps the chain verified and only skips the host-name check.
//
// Pure: no I/O (the files are read when the first TLS connection is made).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "net/http_client.h"

namespace custos::config {

// `config` is the whole local configuration (YAML and environment merged). `user_agent` is
// sent with every request.
net::HttpClientOptions rest_client_options(const nlohmann::json& config, const std::string& user_agent);

}  // namespace custos::config
