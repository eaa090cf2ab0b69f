// What every custosctl command (other than list/topology) works with: the loaded configuration,
// the cluster name and Citus group resolved from arguments and configuration, DCS clients in ctl
// mode, the member table printed before/after actions, questions to the user, and the REST
// client. Runtime failures are thrown as CtlError and printed "Error: ..." with exit code 1.
#pragma once

#include <istream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>

#include "ctl/cli.h"
#include "ctl/prompt.h"
#include "ctl/rest_calls.h"
#include "dcs/dcs.h"

namespace custos::ctl {

struct CtlError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class CommandContext {
 public:
  // api_override: a stand-in for the members' REST API (tests); nullptr: real HTTP.
  CommandContext(const Invocation& inv, std::ostream& out, std::ostream& err, std::istream& in,
                 MemberApi* api_override = nullptr);

  const Invocation& inv;
  std::ostream& out;
  std::ostream& err;
  std::istream& in;
  Prompter prompter;
  nlohmann::json config;

  // Loads the configuration (throws CtlError).
  void load();
  // CLUSTER_NAME, else the configuration's scope; CtlError when neither exists.
  std::string cluster_name() const;
  bool citus() const;
  // --group, else (when default_from_config) citus.group of the configuration.
  std::optional<int> group(bool default_from_config) const;
  std::unique_ptr<dcs::Dcs> make_dcs(const std::string& name, std::optional<int> group) const;
  dcs::Cluster read_cluster(dcs::Dcs& dcs, const std::string& name) const;
  // The member table (as `list` prints it) for this cluster and group.
  void print_members(const dcs::Cluster& cluster, const std::string& name, std::optional<int> group,
                     OutputFormat format = OutputFormat::kPretty);
  MemberApi& api();
  // loop_wait of the dynamic configuration (default 10).
  static int loop_wait_of(const dcs::Cluster& cluster);

 private:
  MemberApi* api_override_;
  std::unique_ptr<MemberApi> api_;
};

// Command implementations (one per command, return the exit code; throw CtlError).
int run_show_config(CommandContext& ctx);
int run_history(CommandContext& ctx);
int run_dsn(CommandContext& ctx);
int run_edit_config(CommandContext& ctx);
int run_remove(CommandContext& ctx);
int run_version(CommandContext& ctx);
int run_pause(CommandContext& ctx, bool pause);
int run_switchover(CommandContext& ctx, bool failover);
int run_restart(CommandContext& ctx);
int run_reinit(CommandContext& ctx);
int run_reload(CommandContext& ctx);
int run_flush(CommandContext& ctx);
int run_query(CommandContext& ctx);
int run_demote_cluster(CommandContext& ctx);   // cluster_role.cpp
int run_promote_cluster(CommandContext& ctx);  // cluster_role.cpp

}  // namespace custos::ctl
