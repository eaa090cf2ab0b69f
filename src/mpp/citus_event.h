// The events a Citus worker's primary sends to the coordinator's leader (POST /citus,
// spec/citus.md §6) and their JSON body: {"type", "group", "leader", "timeout", "cooldown"}.
// Pure; any thread.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

namespace custos::mpp {

enum class CitusEvent { before_demote, before_promote, after_promote };
const char* to_string(CitusEvent e);
std::optional<CitusEvent> citus_event_from_string(const std::string& s);

struct CitusEventMessage {
  CitusEvent type = CitusEvent::after_promote;
  int group = 0;
  std::string leader;     // the worker primary's member name
  double timeout = 30;    // the worker's ttl (s): how long a transaction it starts may stay open
  double cooldown = 10;   // the worker's retry_timeout (s): citus_update_node's lock_cooldown / 1000

  nlohmann::json to_json() const;
  // The body of a POST /citus; an error naming the field that is missing or wrong.
  static std::variant<CitusEventMessage, std::string> parse(const nlohmann::json& body);
};

}  // namespace custos::mpp
