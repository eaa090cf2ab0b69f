// pause/resume, switchover/failover, restart, reinit, reload and flush (ctl.md §5-6): the
// commands that act through the members' REST API (with the DCS fallbacks the spec names).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "common/json_truth.h"
#include "config/global_config.h"
#include "ctl/command_context.h"
#include "ctl/member_selection.h"
#include "ctl/pretty_table.h"
#include "ctl/schedule.h"

namespace custos::ctl {

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kShortTimeout = 10s;
constexpr auto kRestartTimeout = 360s;

// The dynamic modes as Patroni's global config reads them: parse_bool, unparsable is off.
bool is_paused(const dcs::Cluster& cluster) {
  if (!cluster.config()) return false;
  const auto& d = cluster.config()->data();
  auto it = d.find("pause");
  return it != d.end() && patroni_parse_bool(*it).value_or(false);
}

// synchronous_mode true or "quorum" (any case), as the agents read it.
bool is_synchronous_mode(const dcs::Cluster& cluster) {
  return cluster.config() && config::GlobalConfig(cluster.config()->data()).is_synchronous_mode();
}

bool is_standby_cluster(const dcs::Cluster& cluster) {
  if (!cluster.config()) return false;
  const auto& d = cluster.config()->data();
  auto it = d.find("standby_cluster");
  return it != d.end() && it->is_object() && !it->empty();
}

std::string python_list(const std::vector<std::string>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", '" : "'") + names[i] + "'";
  return out + "]";
}

// Success/failure line of a member action; true when the status is below 400.
bool check_response(CommandContext& ctx, const RestReply& r, const std::string& member,
                    const std::string& action, bool silent_success = false) {
  if (r.status >= 400) {
    ctx.out << "Failed: " << action << " for member " << member << ", status code=" << r.status
            << ", (" << r.body << ")\n";
    return false;
  }
  if (!silent_success) ctx.out << "Success: " << action << " for member " << member << "\n";
  return true;
}

RestReply call_or_throw(CommandContext& ctx, const dcs::Member& m, const std::string& method,
                        const std::string& endpoint, const std::optional<json>& body,
                        std::chrono::milliseconds timeout) {
  auto r = ctx.api().call(m, method, endpoint, body, timeout);
  if (!r)
    throw CtlError("cannot call " + method + " /" + endpoint + " on member " + m.name() + ": " +
                   r.error());
  return *r;
}

// The cluster of a command taking CLUSTER [MEMBERS...] with --group (no default group).
struct Target {
  std::string name;
  std::optional<int> group;
  std::unique_ptr<dcs::Dcs> dcs;
  dcs::Cluster cluster;
};

Target read_target(CommandContext& ctx, bool default_group) {
  Target t;
  t.name = ctx.cluster_name();
  t.group = ctx.group(default_group);
  t.dcs = ctx.make_dcs(t.name, t.group);
  t.cluster = ctx.read_cluster(*t.dcs, t.name);
  return t;
}

std::vector<const dcs::Cluster*> groups_of(CommandContext& ctx, const Target& t) {
  return cluster_groups(t.cluster, ctx.citus() && !t.group);
}

std::vector<dcs::Member> select(CommandContext& ctx, const Target& t, const std::string& role,
                                const std::string& action, bool ask_confirmation = true) {
  SelectionRequest req;
  req.cluster_name = t.name;
  req.names = ctx.inv.members;
  req.role_text = role;
  req.force = ctx.inv.force;
  req.action = action;
  req.ask_confirmation = ask_confirmation;
  auto selected = select_members(groups_of(ctx, t), req, ctx.prompter,
                                 [&] { ctx.print_members(t.cluster, t.name, t.group); });
  if (!selected) throw CtlError(selected.error());
  return *selected;
}

}  // namespace

int run_pause(CommandContext& ctx, bool pause) {
  Target t = read_target(ctx, true);
  if (is_paused(t.cluster) == pause)
    throw CtlError(std::string("Cluster is ") + (pause ? "already" : "not") + " paused");
  const std::string verb = pause ? "pause" : "resume";
  for (const auto& m : members_leader_first(t.cluster)) {
    auto r = ctx.api().call(m, "PATCH", "config",
                            json{{"pause", pause ? json(true) : json(nullptr)}}, kShortTimeout);
    if (!r) {
      spdlog::warn("{}", r.error());
      spdlog::warn("Member {} is not accessible", m.name());
      continue;
    }
    if (r->status != 200) {
      ctx.out << "Failed: " << verb << " cluster management status code=" << r->status << ", ("
              << r->body << ")\n";
      return 0;
    }
    if (!ctx.inv.wait) {
      ctx.out << "Success: cluster management is " << (pause ? "paused" : "resumed") << "\n";
      return 0;
    }
    ctx.out << "'" << verb << "' request sent, waiting until it is recognized by all nodes\n";
    ctx.out.flush();
    std::map<std::string, dcs::Version> old;
    for (const auto& om : t.cluster.members())
      if (om.api_url()) old[om.name()] = om.version;
    const int loop_wait = CommandContext::loop_wait_of(t.cluster);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(loop_wait + 1);
    dcs::Cluster cluster = t.cluster;
    bool all = false;
    while (true) {
      auto c = t.dcs->get_cluster();
      if (c) {
        cluster = *c;
        all = std::all_of(cluster.members().begin(), cluster.members().end(),
                          [&](const dcs::Member& cm) {
                            return !old.count(cm.name()) || cm.is_paused() == pause;
                          });
        if (all) break;
      }
      if (std::chrono::steady_clock::now() >= deadline) break;
      std::this_thread::sleep_for(1s);
    }
    if (!all) {
      std::string remaining;
      for (const auto& cm : cluster.members())
        if (old.count(cm.name()) && cm.is_paused() != pause && old[cm.name()] != cm.version)
          remaining += (remaining.empty() ? "" : ", ") + cm.name();
      if (!remaining.empty()) {
        ctx.out << remaining << " members didn't recognized pause state after " << loop_wait
                << " seconds\n";
        return 0;
      }
    }
    ctx.out << "Success: cluster management is " << (pause ? "paused" : "resumed") << "\n";
    return 0;
  }
  throw CtlError("Can not find accessible cluster member");
}

int run_switchover(CommandContext& ctx, bool failover_command) {
  const auto& args = ctx.inv.switchover;
  const bool force = ctx.inv.force;
  std::string action = "switchover";
  if (failover_command) {
    action = "failover";
    if (args.leader) {
      action = "switchover";
      ctx.out << "Supplying a leader name using this command is deprecated and will be removed in "
                 "a future version "
                 "of Patroni, change your scripts to use `switchover` instead.\nExecuting "
                 "switchover!\n";
    }
  }
  std::string title = action;
  title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(title[0])));

  Target t = read_target(ctx, false);
  ctx.out << "Current cluster topology\n";
  ctx.print_members(t.cluster, t.name, t.group);
  if (ctx.citus() && !t.group) {
    if (force) throw CtlError("For Citus clusters the --group must me specified");
    const std::string answer = ctx.prompter.prompt("Citus group");
    try {
      size_t used = 0;
      t.group = std::stoi(answer, &used);
      if (used != answer.size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw CtlError("'" + answer + "' is not a valid integer");
    }
    t.dcs = ctx.make_dcs(t.name, t.group);
    t.cluster = ctx.read_cluster(*t.dcs, t.name);
  }
  const dcs::Cluster& cluster = t.cluster;
  const auto current_leader = cluster.leader_name();

  std::optional<std::string> leader = args.leader;
  if (action == "switchover") {
    if (!current_leader) throw CtlError("This cluster has no leader");
    if (!leader) {
      if (force)
        leader = current_leader;
      else
        leader = ctx.prompter.prompt(is_standby_cluster(cluster) ? "Standby Leader" : "Primary",
                                     *current_leader);
    }
    if (*leader != *current_leader)
      throw CtlError("Member " + *leader + " is not the leader of cluster " + t.name);
  }

  std::vector<std::string> candidates;
  for (const auto& m : cluster.members())
    if (m.name() != current_leader.value_or("") && !m.nofailover()) candidates.push_back(m.name());
  std::sort(candidates.begin(), candidates.end());
  if (candidates.empty()) throw CtlError("No candidates found to " + action + " to");

  std::optional<std::string> candidate = args.candidate;
  if (!candidate && !force)
    candidate = ctx.prompter.prompt("Candidate " + python_list(candidates), "");
  if (candidate && candidate->empty()) candidate.reset();
  if (action == "failover" && !candidate)
    throw CtlError("Failover could be performed only to a specific candidate");
  if (candidate &&
      std::find(candidates.begin(), candidates.end(), *candidate) == candidates.end()) {
    if (current_leader && *candidate == *current_leader)
      throw CtlError("Member " + *candidate + " is already the leader of cluster " + t.name);
    throw CtlError("Member " + *candidate + " does not exist in cluster " + t.name +
                   " or is tagged as nofailover");
  }
  if (!force && action == "failover" && is_synchronous_mode(cluster) &&
      !cluster.sync().is_empty() && !cluster.sync().matches(*candidate, true)) {
    if (!ctx.prompter.confirm("Are you sure you want to failover to the asynchronous node " +
                              *candidate + "?"))
      throw CtlError("Aborting " + action);
  }

  std::optional<ScheduledTime> scheduled;
  if (action == "switchover") {
    std::optional<std::string> text = args.scheduled;
    if (!text && !force)
      text = ctx.prompter.prompt(
          "When should the switchover take place (e.g. " + next_hour_example() + " ) ", "now");
    auto parsed = parse_scheduled(text);
    if (!parsed) throw CtlError(parsed.error());
    scheduled = *parsed;
    if (scheduled && is_paused(cluster))
      throw CtlError("Can't schedule switchover in the paused state");
  }

  json body = json::object();
  if (action == "switchover") body["leader"] = *leader;
  if (candidate) body["candidate"] = *candidate;
  if (scheduled) body["scheduled_at"] = scheduled->iso;

  if (!force) {
    const std::string demote = current_leader ? ", demoting current leader " + *current_leader : "";
    if (scheduled) {
      if (!ctx.prompter.confirm("Are you sure you want to schedule " + action + " of cluster " +
                                t.name + " at " + scheduled->iso + demote + "?"))
        throw CtlError("Aborting scheduled " + action);
    } else if (!ctx.prompter.confirm("Are you sure you want to " + action + " cluster " + t.name +
                                     demote + "?")) {
      throw CtlError("Aborting " + action);
    }
  }

  std::optional<dcs::Member> target;
  if (current_leader)
    target = cluster.get_member(*current_leader, true);
  else if (candidate)
    target = cluster.get_member(*candidate, false);
  const auto timeout =
      std::chrono::seconds(2 * std::max(10, CommandContext::loop_wait_of(cluster)) + 30);
  Result<RestReply, std::string> reply = Err<std::string>{"no member to send the request to"};
  if (target) {
    reply = ctx.api().call(*target, "POST", action, body, timeout);
    if (reply && reply->status == 501 && action == "switchover" &&
        reply->body.find("not support") != std::string::npos)
      reply = ctx.api().call(*target, "POST", "failover", body, timeout);
  }
  if (reply) {
    if (reply->status != 200 && reply->status != 202) {
      ctx.out << title << " failed, details: " << reply->status << ", " << reply->body << "\n";
      return 0;
    }
    ctx.out << local_timestamp() << " " << reply->body << "\n";
  } else {
    spdlog::warn("{}", reply.error());
    spdlog::warn("Failing over to DCS");
    ctx.out << local_timestamp() << " Could not " << action
            << " using Patroni api, falling back to DCS\n";
    json value = json::object();
    if (action == "switchover" && leader) value["leader"] = *leader;
    if (candidate) value["member"] = *candidate;
    if (scheduled) value["scheduled_at"] = scheduled->iso;
    auto written = t.dcs->set_failover_value(value.dump(), std::nullopt);
    if (!written)
      throw CtlError("cannot write the failover key to the DCS: " + written.error().describe());
  }
  auto after = t.dcs->get_cluster();
  ctx.print_members(after ? *after : cluster, t.name, t.group);
  return 0;
}

int run_restart(CommandContext& ctx) {
  const auto& args = ctx.inv.restart;
  const bool force = ctx.inv.force;
  Target t = read_target(ctx, false);
  auto members = select(ctx, t, ctx.inv.role.value_or("any"), "restart", false);

  std::optional<std::string> text = args.scheduled;
  if (!text && !force)
    text = ctx.prompter.prompt(
        "When should the restart take place (e.g. " + next_hour_example() + ") ", "now");
  auto scheduled = parse_scheduled(text);
  if (!scheduled) throw CtlError(scheduled.error());
  auto confirmed = confirm_members_action(
      members, force, "restart", *scheduled ? std::optional((*scheduled)->iso) : std::nullopt,
      ctx.prompter);
  if (!confirmed) throw CtlError(confirmed.error());

  if (args.any && members.size() > 1) {
    std::mt19937 rng{std::random_device{}()};
    std::shuffle(members.begin(), members.end(), rng);
    members.resize(1);
  }
  std::optional<std::string> version = args.pg_version;
  if (!version && !force)
    version = ctx.prompter.prompt(
        "Restart if the PostgreSQL version is less than provided (e.g. 9.5.2) ", "");

  json content = json::object();
  if (args.pending) content["restart_pending"] = true;
  if (version && !version->empty()) {
    auto ok = check_postgres_version(*version);
    if (!ok) throw CtlError(ok.error());
    content["postgres_version"] = *version;
  }
  if (*scheduled) {
    if (is_paused(t.cluster)) throw CtlError("Can't schedule restart in the paused state");
    content["schedule"] = (*scheduled)->iso;
  }
  if (args.timeout) content["timeout"] = *args.timeout;

  for (const auto& m : members) {
    if (content.contains("schedule") && force && m.data().contains("scheduled_restart") &&
        !m.data()["scheduled_restart"].is_null()) {
      auto r = call_or_throw(ctx, m, "DELETE", "restart", std::nullopt, kShortTimeout);
      check_response(ctx, r, m.name(), "flush scheduled restart", true);
    }
    auto r = call_or_throw(ctx, m, "POST", "restart", content, kRestartTimeout);
    if (r.status == 200)
      ctx.out << "Success: restart on member " << m.name() << "\n";
    else if (r.status == 202)
      ctx.out << "Success: restart scheduled on member " << m.name() << "\n";
    else if (r.status == 409)
      ctx.out << "Failed: another restart is already scheduled on member " << m.name() << "\n";
    else
      ctx.out << "Failed: restart for member " << m.name() << ", status code=" << r.status << ", ("
              << r.body << ")\n";
    ctx.out.flush();
  }
  return 0;
}

int run_reinit(CommandContext& ctx) {
  Target t = read_target(ctx, false);
  auto members = select(ctx, t, "replica", "reinitialize");
  std::vector<dcs::Member> waiting;
  for (const auto& m : members) {
    json body = {{"force", ctx.inv.force}, {"from_leader", ctx.inv.from_leader}};
    while (true) {
      auto r = call_or_throw(ctx, m, "POST", "reinitialize", body, kShortTimeout * 3);
      const bool started = check_response(ctx, r, m.name(), "reinitialize");
      const std::string suffix = " already in progress";
      const bool in_progress =
          r.body.size() >= suffix.size() &&
          r.body.compare(r.body.size() - suffix.size(), suffix.size(), suffix) == 0;
      if (!started && in_progress && !ctx.inv.force &&
          ctx.prompter.confirm("Do you want to cancel it and reinitialize anyway?")) {
        body["force"] = true;
        continue;
      }
      if (started && ctx.inv.wait) waiting.push_back(m);
      break;
    }
  }
  std::vector<std::string> last_display;
  while (!waiting.empty()) {
    std::vector<std::string> names;
    for (const auto& m : waiting) names.push_back(m.name());
    if (names != last_display) {
      std::string joined;
      for (const auto& n : names) joined += (joined.empty() ? "" : ", ") + n;
      ctx.out << "Waiting for reinitialize to complete on: " << joined << "\n";
      ctx.out.flush();
      last_display = names;
    }
    std::this_thread::sleep_for(2s);
    for (auto it = waiting.begin(); it != waiting.end();) {
      auto r = call_or_throw(ctx, *it, "GET", "patroni", std::nullopt, kShortTimeout);
      auto data = json::parse(r.body, nullptr, false);
      const bool creating =
          data.is_object() && data.contains("state") && data["state"] == "creating replica";
      if (!creating) {
        ctx.out << "Reinitialize is completed on: " << it->name() << "\n";
        it = waiting.erase(it);
      } else {
        ++it;
      }
    }
  }
  return 0;
}

int run_reload(CommandContext& ctx) {
  Target t = read_target(ctx, false);
  auto members = select(ctx, t, ctx.inv.role.value_or("any"), "reload");
  std::string loop_wait = "None";
  if (t.cluster.config() && t.cluster.config()->data().contains("loop_wait"))
    loop_wait = python_str(t.cluster.config()->data()["loop_wait"]);
  for (const auto& m : members) {
    auto r = call_or_throw(ctx, m, "POST", "reload", std::nullopt, kShortTimeout);
    if (r.status == 200)
      ctx.out << "No changes to apply on member " << m.name() << "\n";
    else if (r.status == 202)
      ctx.out << "Reload request received for member " << m.name()
              << " and will be processed within " << loop_wait << " seconds\n";
    else
      ctx.out << "Failed: reload for member " << m.name() << ", status code=" << r.status << ", ("
              << r.body << ")\n";
  }
  return 0;
}

int run_flush(CommandContext& ctx) {
  Target t = read_target(ctx, false);
  if (ctx.inv.flush_target == "restart") {
    for (const auto& m : select(ctx, t, ctx.inv.role.value_or("any"), "flush")) {
      const auto& d = m.data();
      const bool scheduled =
          d.contains("scheduled_restart") && !d["scheduled_restart"].is_null() &&
          !(d["scheduled_restart"].is_object() && d["scheduled_restart"].empty());
      if (scheduled) {
        auto r = call_or_throw(ctx, m, "DELETE", "restart", std::nullopt, kShortTimeout);
        check_response(ctx, r, m.name(), "flush scheduled restart");
      } else {
        ctx.out << "No scheduled restart for member " << m.name() << "\n";
      }
    }
    return 0;
  }
  const auto& failover = t.cluster.failover();
  if (!failover || !(failover->scheduled_at || failover->scheduled_at_invalid)) {
    ctx.out << "No pending scheduled switchover\n";
    return 0;
  }
  for (const auto& m : members_leader_first(t.cluster)) {
    auto r = ctx.api().call(m, "DELETE", "switchover", std::nullopt, kShortTimeout);
    if (!r) {
      spdlog::warn("{}", r.error());
      spdlog::warn("Member {} is not accessible", m.name());
      continue;
    }
    if (r->status == 200 || r->status == 404) {
      ctx.out << (r->status == 200 ? "Success: " : "Failed: ") << r->body << "\n";
      return 0;
    }
    ctx.out << "Failed: member=" << m.name() << ", status_code=" << r->status << ", (" << r->body
            << ")\n";
  }
  spdlog::warn("Failing over to DCS");
  ctx.out << local_timestamp() << " Could not find any accessible member of cluster " << t.name
          << "\n";
  auto written = t.dcs->set_failover_value("{}", failover->version);
  if (!written)
    spdlog::warn("cannot clear the failover key in the DCS: {}", written.error().describe());
  return 0;
}

}  // namespace custos::ctl
