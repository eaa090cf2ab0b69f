#include "ha/sync_selection.h"

#include <algorithm>
#include <cctype>

namespace custos::ha {
namespace {

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

struct Replica {
  std::string name;  // application_name
  std::string sync_state;
  int64_t lsn = 0;
  bool nofailover = false;
};

bool plain_ident(const std::string& v) {
  if (v.empty()) return false;
  auto first_ok = [](char ch) { return std::isalpha(static_cast<unsigned char>(ch)) || ch == '_'; };
  if (!first_ok(v[0])) return false;
  for (char ch : v)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '$')) return false;
  return true;
}

std::string quote_ident(const std::string& v) {
  if (plain_ident(v)) return v;
  std::string out = "\"";
  for (char ch : v) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + '"';
}

}  // namespace

SyncSelection select_sync_candidates(const dcs::Cluster& cluster, const SyncSelectionInput& in) {
  std::vector<Replica> replicas;
  for (const ReplicationRow& row : in.rows) {
    if (row.state != "streaming") continue;
    std::optional<int64_t> lsn = in.synchronous_commit == "remote_apply"   ? row.replay_lsn
                                 : in.synchronous_commit == "remote_write" ? row.write_lsn
                                                                           : row.flush_lsn;
    if (!lsn) continue;
    const dcs::Member* member = nullptr;
    for (const dcs::Member& m : cluster.members())
      if (lower(m.name()) == lower(row.application_name) && lower(m.name()) != lower(in.my_name))
        member = &m;
    if (!member || !member->is_running() || member->nosync()) continue;
    replicas.push_back({row.application_name, row.sync_state, *lsn, member->nofailover()});
  }
  // (sync_state, lsn) descending, then nofailover members last (stable).
  std::stable_sort(replicas.begin(), replicas.end(), [](const Replica& a, const Replica& b) {
    if (a.sync_state != b.sync_state) return a.sync_state > b.sync_state;
    return a.lsn > b.lsn;
  });
  std::stable_sort(replicas.begin(), replicas.end(),
                   [](const Replica& a, const Replica& b) { return !a.nofailover && b.nofailover; });

  int64_t max_lsn = in.my_flush_lsn;
  if (replicas.size() > 1) {
    max_lsn = 0;
    for (const Replica& r : replicas) max_lsn = std::max(max_lsn, r.lsn);
  }

  SyncSelection out;
  out.ready = in.ready;
  std::set<std::string> ssn;
  for (const std::string& n : in.ssn_members) ssn.insert(lower(n));
  for (const Replica& r : replicas) {
    if (out.ready.count(r.name) || !ssn.count(lower(r.name))) continue;
    if (cluster.sync().matches(r.name) ||
        (r.sync_state == "sync" && r.lsn >= in.flush_lsn_at_ssn_change))
      out.ready.insert(r.name);
  }

  const std::size_t count =
      static_cast<std::size_t>(in.server_version > 0 && in.server_version < 90600
                                   ? 1
                                   : std::max(1, in.synchronous_node_count));
  for (const Replica& r : replicas) {
    if (in.maximum_lag_on_syncnode <= 0 || max_lsn - r.lsn <= in.maximum_lag_on_syncnode) {
      out.picked.push_back(r.name);
      if (r.sync_state == "sync" && out.ready.count(r.name)) out.allow_promote.push_back(r.name);
    }
    if (out.picked.size() >= count) break;
  }
  return out;
}

std::string render_synchronous_standby_names(const std::vector<std::string>& names, bool star,
                                             int server_version) {
  if (star) return "*";
  if (names.empty()) return "";
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  for (std::string& n : sorted) n = quote_ident(n);
  if (sorted.size() == 1 || (server_version > 0 && server_version < 90600)) return sorted.front();
  std::string out = std::to_string(sorted.size()) + " (";
  for (std::size_t i = 0; i < sorted.size(); ++i) out += (i ? "," : "") + sorted[i];
  return out + ")";
}

}  // namespace custos::ha
