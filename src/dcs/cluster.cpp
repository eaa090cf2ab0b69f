#include "dcs/cluster.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <random>
#include <set>

#include "common/json_truth.h"
#include "dcs/json_util.h"
#include "dcs/parse_hook.h"
#include "dcs/slot_names.h"

namespace custos::dcs {

namespace {

constexpr std::string_view kMembersPrefix = "members/";

const std::map<int, Cluster>& no_workers() {
  static const std::map<int, Cluster> kEmpty;
  return kEmpty;
}

std::atomic<testing::ParseHook> g_parse_hook{nullptr};

// Parses `key` with `parse`. Whatever it throws (memory exhaustion on a huge value, a bug) is
// appended to `failures` (the key is then absent from the result, and the caller knows the
// result is not the cluster's state) or, without `failures`, propagates. Never swallowed.
template <class F>
void parse_key(std::string_view key, std::vector<KeyParseFailure>* failures, F&& parse) {
  auto run = [&] {
    if (testing::ParseHook hook = g_parse_hook.load(std::memory_order_relaxed)) hook(key);
    parse();
  };
  if (!failures) return run();
  try {
    run();
  } catch (const std::exception& e) {
    failures->push_back(KeyParseFailure{std::string(key), e.what()});
  } catch (...) {
    failures->push_back(KeyParseFailure{std::string(key), "unknown exception"});
  }
}

// The slot type as Patroni infers it: `type` when present, else logical when database and plugin
// are both set, else physical. Non-object values that are falsy are physical.
std::string slot_type(const nlohmann::json& value) {
  if (!python_truthy(value)) return "physical";
  if (!value.is_object()) return {};
  auto t = value.find("type");
  if (t != value.end()) return t->is_string() ? t->get<std::string>() : std::string();
  auto db = value.find("database");
  auto plugin = value.find("plugin");
  if (db != value.end() && python_truthy(*db) && plugin != value.end() && python_truthy(*plugin)) {
    return "logical";
  }
  return "physical";
}

bool is_physical_slot(const nlohmann::json& value) {
  return !python_truthy(value) || (value.is_object() && slot_type(value) == "physical");
}

bool is_logical_slot(const nlohmann::json& value) {
  if (!value.is_object() || slot_type(value) != "logical") return false;
  auto db = value.find("database");
  auto plugin = value.find("plugin");
  return db != value.end() && python_truthy(*db) && plugin != value.end() && python_truthy(*plugin);
}

std::optional<int> parse_group(std::string_view s) {
  if (s.empty() || (s.size() > 1 && s.front() == '0')) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  int g = 0;
  auto res = std::from_chars(s.data(), s.data() + s.size(), g);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return std::nullopt;
  return g;
}

}  // namespace

namespace testing {
void set_parse_hook(ParseHook hook) { g_parse_hook.store(hook, std::memory_order_relaxed); }
}  // namespace testing

Cluster::Cluster(std::optional<std::string> initialize, std::optional<ClusterConfig> config,
                 std::optional<Leader> leader, ClusterStatus status, std::vector<Member> members,
                 std::optional<Failover> failover, SyncState sync,
                 std::optional<TimelineHistory> history, std::optional<nlohmann::json> failsafe)
    : initialize_(std::move(initialize)), config_(std::move(config)), leader_(std::move(leader)),
      status_(std::move(status)), members_(std::move(members)), failover_(std::move(failover)),
      sync_(std::move(sync)), history_(std::move(history)),
      failsafe_(failsafe && failsafe->is_object() ? std::move(failsafe) : std::nullopt) {}

Cluster Cluster::from_nodes(const RawNodes& nodes, std::vector<KeyParseFailure>* failures) {
  Cluster c;
  std::map<std::string_view, const RawNode*> by_key;
  for (const auto& n : nodes) by_key[n.key] = &n;
  auto get = [&](std::string_view key) -> const RawNode* {
    auto it = by_key.find(key);
    return it == by_key.end() ? nullptr : it->second;
  };

  for (auto it = by_key.lower_bound(kMembersPrefix);
       it != by_key.end() && it->first.substr(0, kMembersPrefix.size()) == kMembersPrefix; ++it) {
    std::string_view name = it->first.substr(kMembersPrefix.size());
    if (name.empty() || name.find('/') != std::string_view::npos) continue;
    const RawNode* n = it->second;
    parse_key(n->key, failures, [&] {
      c.members_.push_back(
          Member::from_node(n->version, sanitize_utf8(name), n->session, n->value));
    });
  }
  if (const RawNode* n = get("leader")) {
    parse_key(n->key, failures, [&] {
      std::string name = sanitize_utf8(n->value);
      auto m = std::find_if(c.members_.begin(), c.members_.end(),
                            [&](const Member& x) { return x.name() == name; });
      Member member = m != c.members_.end() ? *m : Member(name, -1, std::nullopt, {});
      c.leader_ = Leader(n->version, n->session, std::move(member));
    });
  }
  if (const RawNode* n = get("config")) {
    parse_key(n->key, failures, [&] { c.config_ = ClusterConfig::from_node(n->version, n->value, n->modify_version); });
  }
  if (const RawNode* n = get("initialize")) {
    parse_key(n->key, failures, [&] { c.initialize_ = sanitize_utf8(n->value); });
  }
  if (const RawNode* n = get("failover")) {
    parse_key(n->key, failures, [&] { c.failover_ = Failover::from_node(n->version, n->value); });
  }
  if (const RawNode* n = get("sync")) {
    parse_key(n->key, failures, [&] { c.sync_ = SyncState::from_node(n->version, n->value); });
  }
  if (const RawNode* n = get("history")) {
    parse_key(n->key, failures, [&] { c.history_ = TimelineHistory::from_node(n->version, n->value); });
  }
  if (const RawNode* n = get("status")) {
    parse_key(n->key, failures, [&] { c.status_ = ClusterStatus::from_node(n->value); });
  } else if (const RawNode* o = get("optime/leader")) {
    parse_key(o->key, failures, [&] { c.status_ = ClusterStatus::from_node(o->value); });
  }
  if (const RawNode* n = get("failsafe")) {
    parse_key(n->key, failures, [&] {
      auto j = parse_json(n->value);
      if (j && j->is_object()) c.failsafe_ = std::move(*j);
    });
  }
  return c;
}

Cluster Cluster::from_citus_nodes(const RawNodes& nodes, int my_group, std::vector<KeyParseFailure>* failures) {
  std::map<int, RawNodes> groups;
  for (const auto& n : nodes) {
    auto slash = n.key.find('/');
    if (slash == std::string::npos) continue;
    auto group = parse_group(std::string_view(n.key).substr(0, slash));
    if (!group) continue;
    RawNode copy = n;
    copy.key = n.key.substr(slash + 1);
    groups[*group].push_back(std::move(copy));
  }
  // One group's keys, with their failures reported under the group's prefix.
  auto parse_group_nodes = [&](int group, const RawNodes& group_nodes) {
    if (!failures) return from_nodes(group_nodes);
    std::vector<KeyParseFailure> mine;
    Cluster c = from_nodes(group_nodes, &mine);
    for (auto& f : mine) failures->push_back(KeyParseFailure{std::to_string(group) + "/" + f.key, std::move(f.reason)});
    return c;
  };
  Cluster mine;
  if (auto it = groups.find(my_group); it != groups.end()) mine = parse_group_nodes(my_group, it->second);
  if (my_group != 0) return mine;
  std::map<int, Cluster> workers;
  for (const auto& [group, group_nodes] : groups) {
    if (group != my_group) workers.emplace(group, parse_group_nodes(group, group_nodes));
  }
  if (!workers.empty()) mine.workers_ = std::make_shared<const std::map<int, Cluster>>(std::move(workers));
  return mine;
}

Cluster Cluster::with_workers(std::map<int, Cluster> workers) const {
  Cluster c = *this;
  if (workers.empty()) {
    c.workers_.reset();
  } else {
    c.workers_ = std::make_shared<const std::map<int, Cluster>>(std::move(workers));
  }
  return c;
}

const std::map<int, Cluster>& Cluster::workers() const noexcept {
  return workers_ ? *workers_ : no_workers();
}

std::map<std::string, std::string> Cluster::failsafe_members() const {
  std::map<std::string, std::string> out;
  if (!failsafe_ || !failsafe_->is_object()) return out;
  for (auto it = failsafe_->begin(); it != failsafe_->end(); ++it) {
    if (it->is_string()) out.emplace(it.key(), it->get<std::string>());
  }
  return out;
}

std::string_view Cluster::leader_name_view() const noexcept {
  return leader_ ? std::string_view(leader_->name()) : std::string_view();
}

std::optional<std::string> Cluster::leader_name() const {
  if (!leader_ || leader_->name().empty()) return std::nullopt;
  return leader_->name();
}

bool Cluster::is_empty() const noexcept {
  return !initialize_ && !config_ && !leader_ && status_.is_empty() && members_.empty() &&
         !failover_ && !sync_.version && !history_ && !failsafe_ && workers().empty();
}

int Cluster::timeline() const { return history_ ? history_->timeline() : 0; }

std::optional<PatroniVersion> Cluster::min_version() const {
  std::optional<PatroniVersion> best;
  for (const auto& m : members_) {
    auto v = m.patroni_version();
    if (!v || v->empty()) continue;
    if (!best || *v < *best) best = std::move(v);
  }
  return best;
}

bool Cluster::use_slots() const {
  if (config_ && config_->is_valid()) return config_->use_slots();
  return true;
}

bool Cluster::has_member(std::string_view name) const {
  return std::any_of(members_.begin(), members_.end(),
                     [&](const Member& m) { return m.name() == name; });
}

std::optional<Member> Cluster::get_member(std::string_view name, bool fallback_to_leader) const {
  for (const auto& m : members_) {
    if (m.name() == name) return m;
  }
  if (fallback_to_leader && leader_) return leader_->member;
  return std::nullopt;
}

std::optional<Member> Cluster::get_clone_member(std::string_view exclude_name) const {
  return get_clone_member(exclude_name, [](size_t n) -> size_t {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng);
  });
}

std::optional<Member> Cluster::get_clone_member(std::string_view exclude_name,
                                                const std::function<size_t(size_t)>& pick) const {
  std::vector<const Member*> candidates;
  for (const auto& m : members_) {
    if (m.name() == exclude_name || (leader_ && m.name() == leader_->name())) continue;
    if (m.clonefrom() && m.is_running()) candidates.push_back(&m);
  }
  if (!candidates.empty()) {
    size_t i = pick ? pick(candidates.size()) : 0;
    if (i >= candidates.size()) i = 0;
    return *candidates[i];
  }
  if (leader_) return leader_->member;
  return std::nullopt;
}

SlotMap Cluster::permanent_slots() const {
  SlotMap out;
  if (!config_) return out;
  const nlohmann::json& configured = config_->permanent_slots();
  if (!configured.is_object() || configured.empty()) return out;
  std::map<std::string, int64_t> member_lsns;
  for (const auto& m : members_) member_lsns[slot_name_from_member_name(m.name())] = m.lsn().value_or(0);
  for (auto it = configured.begin(); it != configured.end(); ++it) {
    nlohmann::json value = python_truthy(*it) ? *it : nlohmann::json::object();
    if (value.is_object()) {
      int64_t lsn = 0;
      if (is_physical_slot(value)) {
        if (auto m = member_lsns.find(it.key()); m != member_lsns.end()) lsn = m->second;
      }
      if (status_.slots) {
        if (auto s = status_.slots->find(it.key()); s != status_.slots->end()) {
          lsn = std::max(lsn, s->second);
        }
      }
      if (lsn != 0) {
        value["lsn"] = lsn;
      } else {
        value.erase("lsn");
      }
    }
    out.emplace(it.key(), std::move(value));
  }
  return out;
}

SlotMap Cluster::configured_permanent_slots(bool is_standby_cluster, std::string_view role,
                                            bool nofailover, int major_version) const {
  if (!use_slots() || nofailover) return {};
  SlotMap all = permanent_slots();
  auto keep = [&](bool physical) {
    SlotMap out;
    for (auto& [name, value] : all) {
      if (physical ? is_physical_slot(value) : is_logical_slot(value)) out.emplace(name, value);
    }
    return out;
  };
  if (is_standby_cluster) {
    return major_version >= kSlotAdvanceAvailableVersion || role == "standby_leader" ? keep(true)
                                                                                     : SlotMap{};
  }
  return major_version >= kSlotAdvanceAvailableVersion || is_primary_role(role) ? all
                                                                                : keep(false);
}

SlotMap Cluster::members_slots(std::string_view my_name, std::string_view role, std::vector<std::string>* problems,
                               bool nofailover, int major_version, int64_t member_slots_ttl) const {
  if (!use_slots()) return {};
  std::string_view leader = leader_name_view();
  // Patroni 4 member_slots_ttl: every node that may lead keeps slots for all the others.
  const bool keep_for_all = member_slots_ttl > 0 && major_version >= kSlotAdvanceAvailableVersion;
  const bool replica = !is_primary_role(role) && role != "standby_leader";
  std::vector<const Member*> chosen;
  for (const auto& m : members_) {
    // A nostream member replays the archive only: nobody keeps WAL for it (ha.md §10).
    if (m.name() == my_name || m.nostream()) continue;
    auto from = m.replicatefrom();
    if (keep_for_all) {
      if (!nofailover || (from && *from == my_name)) chosen.push_back(&m);
    } else if (!replica) {
      if (!from || *from == my_name || !has_member(*from)) chosen.push_back(&m);
    } else if (from && *from == my_name && (leader.empty() || m.name() != leader)) {
      chosen.push_back(&m);
    }
  }
  SlotMap slots;
  std::map<std::string, std::vector<std::string>> by_slot;
  for (const Member* m : chosen) {
    std::string slot = slot_name_from_member_name(m->name());
    nlohmann::json attrs{{"type", "physical"}};
    // A replica keeps its copy of another member's slot at the position the leader published
    // (a cascading member's own position when it is further).
    if (keep_for_all && replica && !(m->replicatefrom() && *m->replicatefrom() == my_name)) {
      int64_t lsn = 0;
      if (status_.slots)
        if (auto it = status_.slots->find(slot); it != status_.slots->end()) lsn = it->second;
      if (m->replicatefrom()) lsn = std::max(lsn, m->lsn().value_or(0));
      if (lsn > 0) attrs["lsn"] = lsn;
    }
    slots[slot] = std::move(attrs);
    by_slot[slot].push_back(m->name());
  }
  // Slots the leader still retains for members that left (not moved: nothing streams to them).
  if (keep_for_all && !nofailover && status_.retain_slots) {
    const std::string mine = slot_name_from_member_name(my_name);
    for (const auto& name : *status_.retain_slots)
      if (name != mine && is_valid_slot_name(name) && !slots.count(name)) slots[name] = nlohmann::json{{"type", "physical"}};
  }
  if (problems && slots.size() < chosen.size()) {
    std::string msg = "Following cluster members share a replication slot name: ";
    bool first = true;
    for (const auto& [slot, names] : by_slot) {
      if (names.size() < 2) continue;
      if (!first) msg += "; ";
      first = false;
      for (size_t i = 0; i < names.size(); ++i) msg += (i ? ", " : "") + names[i];
      msg += " map to " + slot;
    }
    problems->push_back(std::move(msg));
  }
  return slots;
}

std::vector<std::string> Cluster::merge_permanent_slots(SlotMap& slots, const SlotMap& permanent,
                                                        std::string_view my_name,
                                                        int major_version,
                                                        std::vector<std::string>* problems) const {
  std::vector<std::string> disabled;
  std::string my_slot = slot_name_from_member_name(my_name);
  for (const auto& [name, original] : permanent) {
    if (!is_valid_slot_name(name)) {
      if (problems) {
        problems->push_back("Invalid permanent replication slot name '" + sanitize_utf8(name) + "'");
        problems->push_back("Slot name may only contain lower case letters, numbers, and the underscore chars");
      }
      continue;
    }
    nlohmann::json value = python_truthy(original) ? original : nlohmann::json{{"type", "physical"}};
    if (value.is_object()) {
      if (!value.contains("type")) value["type"] = slot_type(value);
      if (value["type"] == "physical") {
        if (name != my_slot) slots[name] = std::move(value);
        continue;
      }
      if (is_logical_slot(value)) {
        if (major_version < kSlotAdvanceAvailableVersion) {
          disabled.push_back(name);
        } else if (slots.count(name)) {
          if (problems) {
            problems->push_back("Permanent logical replication slot '" + name +
                                "' is conflicting with physical replication slot for cluster member");
          }
        } else {
          slots[name] = std::move(value);
        }
        continue;
      }
    }
    if (problems) {
      problems->push_back("Bad value for slot '" + sanitize_utf8(name) + "' in permanent_slots: " +
                          sanitize_utf8(original.dump()));
    }
  }
  return disabled;
}

SlotMap Cluster::get_replication_slots(std::string_view my_name, std::string_view role,
                                       bool nofailover, int major_version,
                                       bool is_standby_cluster,
                                       std::vector<std::string>* problems, int64_t member_slots_ttl) const {
  SlotMap slots = members_slots(my_name, role, problems, nofailover, major_version, member_slots_ttl);
  SlotMap permanent = configured_permanent_slots(is_standby_cluster, role, nofailover, major_version);
  auto disabled = merge_permanent_slots(slots, permanent, my_name, major_version, problems);
  if (problems && !disabled.empty()) {
    std::string msg =
        "Permanent logical replication slots supported by Patroni only starting from PostgreSQL 11. "
        "Following slots will not be created: ";
    for (size_t i = 0; i < disabled.size(); ++i) msg += (i ? ", " : "") + disabled[i];
    problems->push_back(std::move(msg));
  }
  return slots;
}

std::map<std::string, int64_t> Cluster::filter_permanent_slots(
    const std::map<std::string, int64_t>& slots, bool is_standby_cluster,
    int major_version, int64_t member_slots_ttl) const {
  std::map<std::string, int64_t> out;
  // Before PostgreSQL 11 permanent slots are not kept on standby nodes at all.
  if (!use_slots() || major_version < kSlotAdvanceAvailableVersion) return out;
  if (member_slots_ttl > 0) return slots;
  SlotMap permanent = configured_permanent_slots(is_standby_cluster, "replica", false, major_version);
  std::set<std::string> member_slots;
  for (const auto& m : members_) member_slots.insert(slot_name_from_member_name(m.name()));
  for (const auto& [name, lsn] : slots) {
    auto p = permanent.find(name);
    if (p == permanent.end()) continue;
    if (is_physical_slot(p->second) || (is_logical_slot(p->second) && !member_slots.count(name))) {
      out.emplace(name, lsn);
    }
  }
  return out;
}

bool Cluster::has_permanent_slots(std::string_view my_name, bool is_standby_cluster,
                                  bool nofailover, int major_version) const {
  const std::string_view role = "replica";
  SlotMap members = members_slots(my_name, role, nullptr);
  SlotMap permanent = configured_permanent_slots(is_standby_cluster, role, nofailover, major_version);
  SlotMap merged = members;
  merge_permanent_slots(merged, permanent, my_name, major_version, nullptr);
  if (merged.size() > members.size()) return true;
  return std::any_of(permanent.begin(), permanent.end(),
                     [](const auto& kv) { return is_physical_slot(kv.second); });
}

bool Cluster::has_permanent_logical_slots(std::string_view my_name, bool nofailover) const {
  SlotMap slots = get_replication_slots(my_name, "replica", nofailover, kSlotAdvanceAvailableVersion);
  return std::any_of(slots.begin(), slots.end(), [](const auto& kv) {
    auto t = kv.second.find("type");
    return t != kv.second.end() && *t == "logical";
  });
}

bool Cluster::should_enforce_hot_standby_feedback(std::string_view my_name, bool nofailover) const {
  std::set<std::string> visited;
  std::function<bool(std::string_view, bool)> check = [&](std::string_view name, bool nf) {
    if (!visited.insert(std::string(name)).second) return false;  // replicatefrom cycle
    if (has_permanent_logical_slots(name, nf)) return true;
    if (!use_slots()) return false;
    std::string_view leader = leader_name_view();
    for (const auto& m : members_) {
      auto from = m.replicatefrom();
      if (from && *from == name && (leader.empty() || m.name() != leader) &&
          check(m.name(), m.nofailover())) {
        return true;
      }
    }
    return false;
  };
  return check(my_name, nofailover);
}

std::string Cluster::get_my_slot_name_on_primary(std::string_view my_name,
                                                 std::optional<std::string_view> replicatefrom) const {
  std::set<std::string> visited{std::string(my_name)};
  std::string name(my_name);
  std::optional<std::string> from;
  if (replicatefrom) from = std::string(*replicatefrom);
  std::string_view leader = leader_name_view();
  while (from && !from->empty()) {
    auto m = std::find_if(members_.begin(), members_.end(),
                          [&](const Member& x) { return x.name() == *from; });
    if (m == members_.end()) break;                         // gone: we fall back to the primary
    if (!leader.empty() && m->name() == leader) break;      // replicating from the primary itself
    if (!visited.insert(m->name()).second) break;           // replicatefrom cycle
    name = m->name();
    from = m->replicatefrom();
  }
  return slot_name_from_member_name(name);
}

bool Cluster::operator==(const Cluster& other) const {
  return initialize_ == other.initialize_ && config_ == other.config_ && leader_ == other.leader_ &&
         status_ == other.status_ && members_ == other.members_ &&
         failover_ == other.failover_ && sync_ == other.sync_ && history_ == other.history_ &&
         failsafe_ == other.failsafe_ && workers() == other.workers();
}

}  // namespace custos::dcs
