#include "dcs/sync_state.h"

#include <cctype>

#include "common/json_truth.h"
#include "common/python_int.h"
#include "dcs/json_util.h"

namespace custos::dcs {

namespace {

std::string_view trim_ws(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

SyncState::SyncState(std::optional<Version> version, std::optional<std::string> leader,
                     std::optional<std::string> sync_standby, int64_t quorum)
    : version(version), leader(std::move(leader)), sync_standby(std::move(sync_standby)), quorum(quorum) {}

SyncState SyncState::empty(std::optional<Version> version) {
  return SyncState(version, std::nullopt, std::nullopt);
}

SyncState SyncState::from_node(std::optional<Version> version, std::string_view value) {
  auto parsed = parse_json(value);
  if (!parsed || !parsed->is_object()) return empty(version);
  auto leader = json_string(*parsed, "leader");
  if (!leader || leader->empty()) return empty(version);
  int64_t quorum = 0;
  if (auto q = parsed->find("quorum"); q != parsed->end() && python_truthy(*q)) {
    auto v = python_int(*q);
    if (!v) return empty(version);
    quorum = *v;
  }
  return SyncState(version, std::move(leader), json_string(*parsed, "sync_standby"), quorum);
}

std::vector<std::string> SyncState::members() const {
  std::vector<std::string> out;
  if (is_empty() || !sync_standby) return out;
  std::string_view rest = *sync_standby;
  while (true) {
    auto comma = rest.find(',');
    std::string_view item = trim_ws(rest.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return out;
}

bool SyncState::matches(std::optional<std::string_view> name, bool check_leader) const {
  if (!name || name->empty() || is_empty()) return false;
  std::string needle = python_lower_utf8(*name);
  if (check_leader && leader_matches(name)) return true;
  for (const auto& m : members()) {
    if (python_lower_utf8(m) == needle) return true;
  }
  return false;
}

bool SyncState::leader_matches(std::optional<std::string_view> name) const {
  if (!name || name->empty() || is_empty()) return false;
  return python_lower_utf8(*name) == python_lower_utf8(*leader);
}

}  // namespace custos::dcs
