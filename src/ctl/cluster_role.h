// `custosctl demote-cluster` and `promote-cluster` (patronictl 4.1): turning a whole cluster into
// a standby cluster of a remote primary, and back into a standalone cluster. Both only change
// `standby_cluster` of the dynamic configuration, through PATCH /config on the leader's REST API
// (demote: the section built from --host/--port/--restore-command/--primary-slot-name; promote:
// null, which removes it), then follow the cluster in the DCS once a second until the change
// has happened, printing a status line per read, and print the member table. There is no
// timeout: like patronictl, the command waits until the cluster gets there or Ctrl-C ("Aborted!",
// exit 1).
//
// The pieces are pure functions (the section, the refusals, the reading of one DCS state) plus
// change_cluster_role(), which runs the whole exchange over injected reads, REST calls, prompts
// and waits so that tests can drive it; run_demote_cluster / run_promote_cluster
// (command_context.h) wire it to the real DCS, REST client, clock and terminal.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <string>

#include "common/result.h"
#include "ctl/cli.h"
#include "ctl/prompt.h"
#include "ctl/rest_calls.h"
#include "dcs/cluster.h"

namespace custos::ctl {

// The `standby_cluster` section demote-cluster writes: the keys host, port, primary_slot_name
// and restore_command for the options given with a non-empty value. Error (exit 1, as
// patronictl) "At least --host, --port or --restore-command should be specified" when none of
// those three has a value (--primary-slot-name alone does not make a standby cluster).
Result<nlohmann::json, std::string> standby_cluster_section(const DemoteClusterArgs& args);

// Why the change cannot start, or nullopt: the cluster has no leader ("Cluster has no leader,
// demotion is not possible" / "... promotion ..."), or its leader's member key already shows
// the role the change leads to ("Cluster is already in the required state": standby_leader for
// a demotion; primary, also spelled master, for a promotion).
std::optional<std::string> role_change_refusal(const dcs::Cluster& cluster, bool demote);

// One reading of the cluster while waiting. `done` when the lock is held by a leader whose
// member key shows the target role and state running, and, for a demotion, the member that held
// the lock when the change was requested (`old_leader`) is running again too. `line` (without
// the timestamp) is what is printed for this reading: "cluster is successfully demoted" /
// "promoted" when done, else "cluster is unlocked: True|False, leader role: R, leader state: S"
// (None for what the leader key or its member does not show) and, for a demotion whose lock moved
// to another member while the old leader's member key has a state, ", previous leader state:
// 'S'" (the state as Python's repr).
struct RoleChangeReading {
  bool done = false;
  std::string line;
};
RoleChangeReading read_role_change(const dcs::Cluster& cluster, const std::string& old_leader,
                                   bool demote);

struct RoleChangeRequest {
  std::string cluster_name;
  bool force = false;                             // no confirmation question
  std::optional<nlohmann::json> standby_cluster;  // set: demote to it; nullopt: promote
};

// What change_cluster_role() reaches the outside world through.
struct RoleChangeEnv {
  std::function<dcs::Cluster()> read_cluster;              // a read of the DCS; throws CtlError
  std::function<void(const dcs::Cluster&)> print_members;  // the member table, as `list`
  std::function<void()> pause;           // before the next read (1 s); throws PromptAborted on Ctrl-C
  std::function<std::string()> timestamp;  // "YYYY-MM-DD HH:MM:SS", local time
};

// The whole command after its arguments were checked: refusals, "Current cluster topology" and
// the member table, the confirmation "Are you sure you want to demote|promote <name> cluster?"
// (unless forced; "no" is the error "Aborted cluster demotion|promotion"), PATCH /config with
// {"standby_cluster": section or null} on the leader (a failed call or a status other than 200
// is the error "Failed to demote|promote <name> cluster: ..."), then the readings until done and
// the member table of the last one. Errors are thrown as CtlError; PromptAborted propagates.
void change_cluster_role(const RoleChangeRequest& request, MemberApi& api, Prompter& prompter,
                         std::ostream& out, const RoleChangeEnv& env);

}  // namespace custos::ctl
