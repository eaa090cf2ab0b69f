// `custosctl list` / `topology` output (ctl.md §3-4): the member table of one cluster (and,
// for a Citus coordinator view, of every group) rendered as pretty, tsv, json, yaml or
// topology text. Pure: (Cluster, name, options) -> text, testable without any server.
#pragma once

#include <optional>
#include <string>

#include "common/presentation.h"
#include "dcs/cluster.h"

namespace custos::ctl {

enum class OutputFormat { kPretty, kTsv, kJson, kYaml, kTopology };

// "pretty", "tsv", "json", "yaml"/"yml" (and "topology"); nullopt for anything else.
std::optional<OutputFormat> parse_output_format(const std::string& text);

struct ListOptions {
  OutputFormat format = OutputFormat::kPretty;
  bool extended = false;       // -e: always show the optional columns
  std::optional<int> group;    // --group: one Citus group
  bool citus = false;          // a Citus cluster (config has `citus`, or --group was given)
  // 4.1: Receive LSN / Lag / Replay LSN / Lag columns; 3.3: one "Lag in MB" column.
  PatroniGeneration presentation = kDefaultPatroniGeneration;
};

// The whole output for one cluster, ending with a newline: the table (or json/yaml/tsv) and,
// for pretty/topology, the service lines (maintenance mode, scheduled switchover).
std::string render_members(const dcs::Cluster& cluster, const std::string& name, const ListOptions& options);

}  // namespace custos::ctl
