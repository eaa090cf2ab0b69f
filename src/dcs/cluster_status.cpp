#include "dcs/cluster_status.h"

#include "dcs/json_util.h"

namespace custos::dcs {

ClusterStatus ClusterStatus::from_node(std::string_view value) {
  auto parsed = parse_json(value);
  if (!parsed) return empty();
  if (parsed->is_boolean() || parsed->is_number_integer() || parsed->is_number_unsigned()) {
    auto lsn = python_int(*parsed);  // legacy optime/leader
    return lsn ? ClusterStatus(*lsn, std::nullopt) : empty();
  }
  if (!parsed->is_object()) return empty();
  ClusterStatus st;
  if (auto it = parsed->find("optime"); it != parsed->end()) st.last_lsn = python_int(*it).value_or(0);
  if (auto it = parsed->find("slots"); it != parsed->end()) {
    std::optional<nlohmann::json> slots;
    if (it->is_string()) {
      slots = parse_json(it->get_ref<const std::string&>());
    } else {
      slots = *it;
    }
    if (slots && slots->is_object()) {
      std::map<std::string, int64_t> out;
      for (auto s = slots->begin(); s != slots->end(); ++s) {
        if (auto v = parse_int(*s)) out.emplace(s.key(), *v);
      }
      st.slots = std::move(out);
    }
  }
  // Patroni 4 member_slots_ttl: the slot names the leader keeps for members (also absent ones).
  if (auto it = parsed->find("retain_slots"); it != parsed->end()) {
    std::optional<nlohmann::json> names = it->is_string() ? parse_json(it->get_ref<const std::string&>())
                                                          : std::optional<nlohmann::json>(*it);
    if (names && names->is_array()) {
      std::vector<std::string> out;
      for (const auto& n : *names)
        if (n.is_string() && !n.get_ref<const std::string&>().empty()) out.push_back(n.get<std::string>());
      st.retain_slots = std::move(out);
    }
  }
  return st;
}

nlohmann::json ClusterStatus::value_of(int64_t last_lsn, const std::map<std::string, int64_t>& slots,
                                      const std::vector<std::string>& retain_slots) {
  nlohmann::json v = {{"optime", last_lsn}};
  if (!slots.empty()) v["slots"] = slots;
  if (!retain_slots.empty()) v["retain_slots"] = retain_slots;
  return v;
}

}  // namespace custos::dcs
