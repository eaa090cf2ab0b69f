#include "ha/sync_selection.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <nlohmann/json.hpp>

namespace custos::ha {
namespace {

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

struct Replica {
  int64_t pid = 0;
  std::string name;  // application_name
  std::string sync_state;
  int64_t lsn = 0;
  bool nofailover = false;
  int64_t sync_priority = 1;
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
    replicas.push_back(
        {row.pid, row.application_name, row.sync_state, *lsn, member->nofailover(), member->sync_priority()});
  }
  // (sync_priority, sync_state, lsn) descending, then nofailover members last (stable).
  std::stable_sort(replicas.begin(), replicas.end(), [](const Replica& a, const Replica& b) {
    if (a.sync_priority != b.sync_priority) return a.sync_priority > b.sync_priority;
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
  if (in.quorum) {
    const std::size_t wanted = static_cast<std::size_t>(std::max(1, in.synchronous_node_count));
    for (const Replica& r : replicas) {
      if (in.maximum_lag_on_syncnode > 0 && max_lsn - r.lsn > in.maximum_lag_on_syncnode) continue;
      // nofailover standbys lower availability as voters: only while too few others stream.
      if (r.nofailover && out.picked.size() >= wanted) continue;
      out.picked.push_back(r.name);
      if (in.flush_lsn_at_ssn_change > 0 && r.lsn >= in.flush_lsn_at_ssn_change) out.confirmed.push_back(r.name);
    }
    return out;
  }
  std::set<std::string> ssn;
  for (const std::string& n : in.ssn_members) ssn.insert(lower(n));
  // Keep what was ready only while it is still listed and the same walsender still streams.
  for (const auto& [name, pid] : in.ready)
    for (const Replica& r : replicas)
      if (lower(r.name) == name && r.pid == pid && ssn.count(name)) out.ready[name] = pid;
  for (const Replica& r : replicas) {
    const std::string key = lower(r.name);
    if (out.ready.count(key) || !ssn.count(key) || r.sync_state != "sync") continue;
    // Listed in /sync already, or confirmed WAL written after synchronous_standby_names changed.
    if ((in.trust_sync_key && cluster.sync().matches(r.name)) || r.lsn >= in.flush_lsn_at_ssn_change)
      out.ready[key] = r.pid;
  }

  const std::size_t count =
      static_cast<std::size_t>(in.server_version > 0 && in.server_version < 90600
                                   ? 1
                                   : std::max(1, in.synchronous_node_count));
  for (const Replica& r : replicas) {
    if (in.maximum_lag_on_syncnode <= 0 || max_lsn - r.lsn <= in.maximum_lag_on_syncnode) {
      out.picked.push_back(r.name);
      if (r.sync_state == "sync" && out.ready.count(lower(r.name))) out.allow_promote.push_back(r.name);
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

namespace {

struct Token {
  enum Kind { name, num, open, close, comma } kind;
  std::string text;
  bool quoted = false;
};

bool ident_start(char ch) {
  return std::isalpha(static_cast<unsigned char>(ch)) || ch == '_' || static_cast<unsigned char>(ch) >= 0x80;
}
bool ident_char(char ch) {
  return ident_start(ch) || std::isdigit(static_cast<unsigned char>(ch)) || ch == '$';
}

std::optional<std::vector<Token>> tokenize(const std::string& v) {
  std::vector<Token> out;
  std::size_t i = 0;
  while (i < v.size()) {
    const char ch = v[i];
    if (std::isspace(static_cast<unsigned char>(ch))) {
      ++i;
    } else if (ch == '(' || ch == ')' || ch == ',') {
      out.push_back({ch == '(' ? Token::open : ch == ')' ? Token::close : Token::comma, std::string(1, ch)});
      ++i;
    } else if (ch == '*') {
      out.push_back({Token::name, "*"});
      ++i;
    } else if (ch == '"') {
      std::string text;
      ++i;
      bool closed = false;
      while (i < v.size()) {
        if (v[i] == '"') {
          if (i + 1 < v.size() && v[i + 1] == '"') {
            text += '"';
            i += 2;
            continue;
          }
          ++i;
          closed = true;
          break;
        }
        text += v[i++];
      }
      if (!closed || text.empty()) return std::nullopt;
      out.push_back({Token::name, text, true});
    } else if (std::isdigit(static_cast<unsigned char>(ch))) {
      std::size_t j = i;
      while (j < v.size() && std::isdigit(static_cast<unsigned char>(v[j]))) ++j;
      if (j < v.size() && ident_char(v[j])) {  // e.g. 2nd: a name that starts with digits
        while (j < v.size() && ident_char(v[j])) ++j;
        out.push_back({Token::name, v.substr(i, j - i)});
      } else {
        out.push_back({Token::num, v.substr(i, j - i)});
      }
      i = j;
    } else if (ident_start(ch)) {
      std::size_t j = i;
      while (j < v.size() && ident_char(v[j])) ++j;
      out.push_back({Token::name, v.substr(i, j - i)});
      i = j;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

}  // namespace

std::optional<StandbyNames> parse_synchronous_standby_names(const std::string& value) {
  auto tokens = tokenize(value);
  if (!tokens) return std::nullopt;
  StandbyNames out;
  if (tokens->empty()) return out;
  const std::vector<Token>& t = *tokens;
  std::size_t i = 0;
  bool parenthesized = false;
  auto is_word = [&](std::size_t k, const char* w) {
    return k < t.size() && t[k].kind == Token::name && !t[k].quoted && lower(t[k].text) == w;
  };
  if ((is_word(0, "first") || is_word(0, "any")) && t.size() > 1 && t[1].kind == Token::num) {
    out.any = is_word(0, "any");
    i = 1;
  }
  if (i < t.size() && t[i].kind == Token::num) {
    if (i + 1 >= t.size() || t[i + 1].kind != Token::open) {
      if (i > 0) return std::nullopt;
    } else {
      try {
        out.num = std::stoi(t[i].text);
      } catch (...) {
        return std::nullopt;
      }
      parenthesized = true;
      i += 2;
    }
  }
  if (!parenthesized) out.num = 1;
  bool expect_name = true;
  for (; i < t.size(); ++i) {
    const Token& tok = t[i];
    if (expect_name) {
      if (tok.kind != Token::name && tok.kind != Token::num) return std::nullopt;
      if (tok.text == "*" && !tok.quoted) out.star = true;
      out.names.push_back(tok.text);
      expect_name = false;
    } else if (tok.kind == Token::comma) {
      expect_name = true;
    } else if (tok.kind == Token::close && parenthesized && i + 1 == t.size()) {
      parenthesized = false;
    } else {
      return std::nullopt;
    }
  }
  if (expect_name || parenthesized) return std::nullopt;
  return out;
}

bool same_names(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::set<std::string> la, lb;
  for (const auto& n : a) la.insert(lower(n));
  for (const auto& n : b) lb.insert(lower(n));
  return la == lb;
}

std::vector<std::string> intersect_names(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::set<std::string> lb;
  for (const auto& n : b) lb.insert(lower(n));
  std::vector<std::string> out;
  for (const auto& n : a)
    if (lb.count(lower(n))) out.push_back(n);
  return out;
}

std::string sync_state_value(const std::string& leader, const std::vector<std::string>& names) {
  nlohmann::json v = {{"leader", leader}, {"sync_standby", nullptr}};
  if (!names.empty()) {
    std::vector<std::string> sorted = names;
    std::sort(sorted.begin(), sorted.end());
    std::string joined;
    for (std::size_t i = 0; i < sorted.size(); ++i) joined += (i ? "," : "") + sorted[i];
    v["sync_standby"] = joined;
  }
  return v.dump();
}

std::string quorum_sync_state_value(const std::string& leader, int quorum, const std::vector<std::string>& voters) {
  nlohmann::json v = nlohmann::json::parse(sync_state_value(leader, voters));
  v["quorum"] = quorum;
  return v.dump();
}

SyncProtocolPlan plan_sync_protocol(const std::vector<std::string>& current_sync, const SyncSelection& selection,
                                    bool strict) {
  SyncProtocolPlan plan;
  if (same_names(selection.picked, current_sync)) {
    plan.rewrite_to_allow_promote = !same_names(current_sync, selection.allow_promote);
    return plan;
  }
  plan.change = true;
  plan.shrunk = intersect_names(current_sync, selection.allow_promote);
  plan.shrink_first = !same_names(plan.shrunk, current_sync);
  plan.ssn_names = selection.picked;
  plan.ssn_star = strict && selection.picked.empty();
  return plan;
}

std::optional<std::vector<std::string>> final_sync_write(const std::vector<std::string>& shrunk,
                                                         const std::vector<std::string>& allow_promote) {
  if (allow_promote.empty() || same_names(allow_promote, shrunk)) return std::nullopt;
  return allow_promote;
}

bool is_sync_standby(const dcs::Cluster& cluster, const std::string& name) {
  const auto& leader = cluster.leader();
  return leader.has_value() && cluster.sync().leader_matches(leader->name()) && cluster.sync().matches(name);
}

}  // namespace custos::ha
