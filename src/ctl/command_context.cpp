#include "ctl/command_context.h"

#include "config/env.h"
#include "ctl/ctl_config.h"
#include "ctl/dcs_factory.h"
#include "ctl/member_list.h"

namespace custos::ctl {

CommandContext::CommandContext(const Invocation& inv_, std::ostream& out_, std::ostream& err_,
                               std::istream& in_, MemberApi* api_override)
    : inv(inv_), out(out_), err(err_), in(in_), prompter(in_, out_), api_override_(api_override) {}

void CommandContext::load() {
  ConfigRequest request;
  request.config_file = inv.global.config_file.value_or(default_config_file());
  request.dcs_url = inv.global.dcs_url;
  request.insecure = inv.global.insecure;
  auto loaded = load_ctl_configuration(request, config::patroni_environment());
  if (!loaded) throw CtlError(loaded.error());
  config = *loaded;
}

std::string CommandContext::cluster_name() const {
  if (inv.cluster && !inv.cluster->empty()) return *inv.cluster;
  auto it = config.find("scope");
  if (it != config.end() && it->is_string() && !it->get<std::string>().empty())
    return it->get<std::string>();
  throw CtlError("Missing cluster name: give CLUSTER_NAME or set `scope` in the configuration");
}

bool CommandContext::citus() const { return is_citus_config(config); }

std::optional<int> CommandContext::group(bool default_from_config) const {
  if (inv.group) return inv.group;
  if (default_from_config && citus()) {
    const auto& g = config["citus"]["group"];
    if (g.is_number_integer()) return g.get<int>();
  }
  return std::nullopt;
}

std::unique_ptr<dcs::Dcs> CommandContext::make_dcs(const std::string& name,
                                                   std::optional<int> group) const {
  auto d = make_ctl_dcs(config, name, group);
  if (!d) throw CtlError(d.error());
  return std::move(d).value();
}

dcs::Cluster CommandContext::read_cluster(dcs::Dcs& dcs, const std::string& name) const {
  auto cluster = dcs.get_cluster();
  if (!cluster)
    throw CtlError("cannot read cluster \"" + name +
                   "\" from the DCS: " + cluster.error().describe());
  return *cluster;
}

void CommandContext::print_members(const dcs::Cluster& cluster, const std::string& name,
                                   std::optional<int> group, OutputFormat format) {
  ListOptions options;
  options.format = format;
  options.group = group;
  options.citus = citus() || group.has_value();
  options.presentation = presentation_of_config(config);
  out << render_members(cluster, name, options);
  out.flush();
}

MemberApi& CommandContext::api() {
  if (api_override_) return *api_override_;
  if (!api_) api_ = make_member_api(config);
  return *api_;
}

int CommandContext::loop_wait_of(const dcs::Cluster& cluster) {
  if (cluster.config()) {
    const auto& d = cluster.config()->data();
    auto it = d.find("loop_wait");
    if (it != d.end() && it->is_number()) return it->get<int>();
    if (it != d.end() && it->is_string()) try {
        return std::stoi(it->get<std::string>());
      } catch (...) {
      }
  }
  return 10;
}

}  // namespace custos::ctl
