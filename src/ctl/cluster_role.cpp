#include "ctl/cluster_role.h"

#include <signal.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "common/json_truth.h"
#include "ctl/command_context.h"
#include "ctl/pretty_table.h"
#include "ctl/schedule.h"

namespace custos::ctl {

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kPatchTimeout = 10s;

const char* verb_of(bool demote) { return demote ? "demote" : "promote"; }
const char* noun_of(bool demote) { return demote ? "demotion" : "promotion"; }

// `key` of a member's data, null when absent (Python's dict.get).
json field(const json& data, const char* key) {
  if (!data.is_object()) return nullptr;
  auto it = data.find(key);
  return it == data.end() ? json(nullptr) : *it;
}

bool has_target_role(const json& role, bool demote) {
  if (!role.is_string()) return false;
  const auto& r = role.get_ref<const std::string&>();
  return demote ? r == "standby_leader" : dcs::is_primary_role(r);
}

bool is_running(const json& state) { return state.is_string() && state == "running"; }

// Python's repr() of a value printed with %r: strings quoted as Python quotes them, the rest as
// str() prints it.
std::string python_repr(const json& value) {
  if (!value.is_string()) return python_str(value);
  const auto& s = value.get_ref<const std::string&>();
  const char quote =
      s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == '\\' || c == static_cast<unsigned char>(quote)) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      static const char* const kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + quote;
}

// Ctrl-C / SIGTERM while the command waits: recorded, so that the wait ends with "Aborted!" as
// patronictl's does, instead of the process dying on the signal. The previous handlers come
// back when the command ends.
std::atomic<bool> g_interrupted{false};
extern "C" void on_wait_interrupt(int) { g_interrupted.store(true); }

class InterruptCatcher {
 public:
  InterruptCatcher() {
    g_interrupted.store(false);
    struct sigaction sa {};
    sa.sa_handler = on_wait_interrupt;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &old_int_);
    ::sigaction(SIGTERM, &sa, &old_term_);
  }
  ~InterruptCatcher() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  InterruptCatcher(const InterruptCatcher&) = delete;
  InterruptCatcher& operator=(const InterruptCatcher&) = delete;

  // Sleeps `d` unless interrupted; false when interrupted.
  static bool sleep(std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
      if (g_interrupted.load()) return false;
      std::this_thread::sleep_for(20ms);
    }
    return !g_interrupted.load();
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

int run_role_change(CommandContext& ctx, std::optional<json> standby_cluster) {
  const std::string name = ctx.cluster_name();
  // As patronictl: no --group; on a Citus configuration the coordinator's view (group 0).
  auto store = ctx.make_dcs(name, std::nullopt);
  std::optional<InterruptCatcher> catcher;  // installed once the waiting starts

  RoleChangeEnv env;
  env.read_cluster = [&] { return ctx.read_cluster(*store, name); };
  env.print_members = [&](const dcs::Cluster& c) { ctx.print_members(c, name, std::nullopt); };
  env.pause = [&] {
    if (!catcher) catcher.emplace();
    if (!InterruptCatcher::sleep(1s)) {
      ctx.out.flush();
      ctx.err << "\n";
      throw PromptAborted();
    }
  };
  env.timestamp = [] { return local_timestamp(0); };

  RoleChangeRequest request{name, ctx.inv.force, std::move(standby_cluster)};
  change_cluster_role(request, ctx.api(), ctx.prompter, ctx.out, env);
  return 0;
}

}  // namespace

Result<json, std::string> standby_cluster_section(const DemoteClusterArgs& args) {
  const auto given = [](const std::optional<std::string>& v) { return v && !v->empty(); };
  const bool port = args.port && *args.port != 0;
  if (!given(args.host) && !port && !given(args.restore_command))
    return Err<std::string>{"At least --host, --port or --restore-command should be specified"};
  json section = json::object();
  if (given(args.host)) section["host"] = *args.host;
  if (port) section["port"] = *args.port;
  if (given(args.primary_slot_name)) section["primary_slot_name"] = *args.primary_slot_name;
  if (given(args.restore_command)) section["restore_command"] = *args.restore_command;
  return section;
}

std::optional<std::string> role_change_refusal(const dcs::Cluster& cluster, bool demote) {
  if (cluster.is_unlocked())
    return std::string("Cluster has no leader, ") + noun_of(demote) + " is not possible";
  if (has_target_role(field(cluster.leader()->data(), "role"), demote))
    return std::string("Cluster is already in the required state");
  return std::nullopt;
}

RoleChangeReading read_role_change(const dcs::Cluster& cluster, const std::string& old_leader,
                                   bool demote) {
  const bool unlocked = cluster.is_unlocked();
  const auto& leader = cluster.leader();
  const json role = leader ? field(leader->data(), "role") : json(nullptr);
  const json state = leader ? field(leader->data(), "state") : json(nullptr);
  const auto previous = cluster.get_member(old_leader, false);
  const json previous_state = previous ? field(previous->data(), "state") : json(nullptr);

  RoleChangeReading reading;
  if (!unlocked && has_target_role(role, demote) && is_running(state) &&
      (!demote || is_running(previous_state))) {
    reading.done = true;
    reading.line = std::string("cluster is successfully ") + verb_of(demote) + "d";
    return reading;
  }
  reading.line = std::string("cluster is unlocked: ") + (unlocked ? "True" : "False") +
                 ", leader role: " + python_str(role) + ", leader state: " + python_str(state);
  if (demote && leader && leader->name() != old_leader && python_truthy(previous_state))
    reading.line += ", previous leader state: " + python_repr(previous_state);
  return reading;
}

void change_cluster_role(const RoleChangeRequest& request, MemberApi& api, Prompter& prompter,
                         std::ostream& out, const RoleChangeEnv& env) {
  const bool demote = request.standby_cluster.has_value();
  const std::string verb = verb_of(demote);
  const std::string& name = request.cluster_name;

  dcs::Cluster cluster = env.read_cluster();
  if (auto refusal = role_change_refusal(cluster, demote)) throw CtlError(*refusal);
  const std::string leader_name = *cluster.leader_name();

  out << "Current cluster topology\n";
  env.print_members(cluster);
  if (!request.force &&
      !prompter.confirm("Are you sure you want to " + verb + " " + name + " cluster?"))
    throw CtlError(std::string("Aborted cluster ") + noun_of(demote));

  json body = json::object();
  body["standby_cluster"] = demote ? *request.standby_cluster : json(nullptr);
  const std::string failed = "Failed to " + verb + " " + name + " cluster: ";
  auto reply = api.call(cluster.leader()->member, "PATCH", "config", body, kPatchTimeout);
  if (!reply) throw CtlError(failed + reply.error());
  if (reply->status != 200)
    throw CtlError(failed + "/config PATCH status code=" + std::to_string(reply->status) + ", (" +
                   reply->body + ")");

  while (true) {
    cluster = env.read_cluster();
    const RoleChangeReading reading = read_role_change(cluster, leader_name, demote);
    out << env.timestamp() << " " << reading.line << "\n";
    out.flush();
    if (reading.done) break;
    env.pause();
  }
  env.print_members(cluster);
}

int run_demote_cluster(CommandContext& ctx) {
  auto section = standby_cluster_section(ctx.inv.demote);
  if (!section) throw CtlError(section.error());
  return run_role_change(ctx, *section);
}

int run_promote_cluster(CommandContext& ctx) { return run_role_change(ctx, std::nullopt); }

}  // namespace custos::ctl
