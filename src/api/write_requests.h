// The bodies of the REST write endpoints (spec/rest-api.md §6), parsed and validated without
// any I/O: each parser returns either the request to carry out or the exact error reply
// (status code + message) Patroni gives for that input. The agent (src/agent/operations.cpp)
// then does the work: DCS writes, waiting for the outcome, restarting PostgreSQL.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/handler.h"

namespace custos::api {

// Reads a JSON object body. `optional_body`: a request without Content-Length (or with an
// empty body) is `{}`; otherwise 411. Unparsable JSON or a non-object: 400. `required_non_empty`:
// `{}` is a 400 too.
std::variant<nlohmann::json, Response> read_json_body(const Request& request, bool optional_body,
                                                      bool required_non_empty);

// A timestamp of a `schedule` / `scheduled_at` field: epoch seconds, or the error reply (400
// without a time zone, 422 when unparsable or in the past). `what` names the field's purpose
// in messages ("restart", "switchover").
std::variant<double, Response> parse_schedule(const nlohmann::json& value, double now);

// POST /restart (§6).
struct RestartRequest {
  std::optional<double> schedule;            // epoch seconds; nullopt = now
  std::optional<std::string> role;           // "master", "primary", "replica"
  std::optional<int> postgres_version;       // server_version_num form (15.4 -> 150004)
  std::optional<std::string> postgres_version_text;  // as sent ("15.4")
  std::optional<int> timeout;                // seconds
  bool restart_pending = false;
};
// `paused`: the cluster is in maintenance mode (a schedule is then refused with 500).
std::variant<RestartRequest, Response> parse_restart_request(const nlohmann::json& body, bool paused, double now);
// "15" / "15.4" / "9.6.24" -> 150000 / 150004 / 90624. nullopt when not a valid version.
std::optional<int> parse_postgres_version(const std::string& text);

// POST /switchover and POST /failover (§6 steps 1-5; the feasibility check and the DCS write
// are the agent's).
struct SwitchoverRequest {
  bool switchover = true;  // false: failover (no leader given)
  std::optional<std::string> leader;
  std::optional<std::string> candidate;
  std::optional<double> scheduled_at;  // epoch seconds
  std::string scheduled_at_text;       // as sent, written to the `failover` key

  // "Switchover" / "Failover" (capitalised) for messages.
  std::string action() const { return switchover ? "Switchover" : "Failover"; }
};
// `failover_endpoint`: POST /failover (else /switchover).
std::variant<SwitchoverRequest, Response> parse_switchover_request(const nlohmann::json& body, bool failover_endpoint,
                                                                   bool paused, double now);
// The `failover` key value written for a request: {leader?, member?, scheduled_at?}.
nlohmann::json failover_key_value(const SwitchoverRequest& request);

// POST /reinitialize: {"force": ...} read with Patroni's parse_bool (patroni_parse_bool): a
// quoted "false" or an unparsable value is no force.
bool parse_reinitialize_force(const nlohmann::json& body);
// POST /reinitialize {"from_leader": ...} (Patroni 4.1), read the same way: take a pg_basebackup
// from the leader instead of the clone member and the configured replica methods.
bool parse_reinitialize_from_leader(const nlohmann::json& body);

// PATCH /config: Patroni's merge (config::patch_config: null deletes, objects merge, scalars
// replaced when their text differs). Returns the patched copy and whether anything changed.
struct PatchedConfig {
  nlohmann::json config;
  bool changed = false;
};
PatchedConfig patch_dynamic_config(const nlohmann::json& current, const nlohmann::json& patch);

// The name of the response header that carries custos's warnings about a request Patroni
// accepts as it is (PATCH/PUT /config naming an unknown key, a value the nodes will adjust).
inline constexpr const char* kWarningHeader = "X-Custos-Warning";
// Adds `warnings` to `response` as one X-Custos-Warning header: joined with "; ", control
// characters replaced, at most 4096 bytes. Nothing when `warnings` is empty.
void add_warning_header(Response& response, const std::vector<std::string>& warnings);

// POST /failsafe (rest-api.md §6, ha.md §7): the primary's heartbeat while the DCS is
// unreachable. `name`, `conn_url` and `api_url` are required strings (400 naming the field
// otherwise; Patroni fails on a missing one too); `slots` maps slot names to LSNs, entries that
// are not integers are left out.
struct FailsafeRequest {
  std::string name;
  std::string conn_url;
  std::string api_url;
  std::map<std::string, int64_t> slots;
};
std::variant<FailsafeRequest, Response> parse_failsafe_request(const nlohmann::json& body);

}  // namespace custos::api
