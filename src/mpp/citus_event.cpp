#include "mpp/citus_event.h"

namespace custos::mpp {

const char* to_string(CitusEvent e) {
  switch (e) {
    case CitusEvent::before_demote: return "before_demote";
    case CitusEvent::before_promote: return "before_promote";
    case CitusEvent::after_promote: return "after_promote";
  }
  return "?";
}

std::optional<CitusEvent> citus_event_from_string(const std::string& s) {
  for (auto e : {CitusEvent::before_demote, CitusEvent::before_promote, CitusEvent::after_promote})
    if (s == to_string(e)) return e;
  return std::nullopt;
}

nlohmann::json CitusEventMessage::to_json() const {
  return {{"type", to_string(type)}, {"group", group}, {"leader", leader}, {"timeout", timeout}, {"cooldown", cooldown}};
}

std::variant<CitusEventMessage, std::string> CitusEventMessage::parse(const nlohmann::json& body) {
  if (!body.is_object()) return std::string("the body is not a JSON object");
  CitusEventMessage m;
  auto type = body.find("type");
  if (type == body.end() || !type->is_string()) return std::string("'type' must be a string");
  auto event = citus_event_from_string(type->get<std::string>());
  if (!event) return "unknown event type '" + type->get<std::string>() + "'";
  m.type = *event;
  auto group = body.find("group");
  if (group == body.end() || !group->is_number_integer() || group->get<int64_t>() < 0 || group->get<int64_t>() > 1 << 30)
    return std::string("'group' must be a non-negative integer");
  m.group = group->get<int>();
  auto leader = body.find("leader");
  if (leader == body.end() || !leader->is_string() || leader->get<std::string>().empty())
    return std::string("'leader' must be a member name");
  m.leader = leader->get<std::string>();
  for (auto [key, out] : {std::pair{"timeout", &m.timeout}, std::pair{"cooldown", &m.cooldown}}) {
    auto it = body.find(key);
    if (it == body.end()) continue;
    if (!it->is_number() || it->get<double>() < 0 || it->get<double>() > 86400)
      return std::string("'") + key + "' must be a number of seconds";
    *out = it->get<double>();
  }
  return m;
}

}  // namespace custos::mpp
