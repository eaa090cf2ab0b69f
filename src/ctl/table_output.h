// patronictl's print_output for tables that are not member listings: `history` and `query`
// results in pretty (bordered table), tsv (header + rows joined by a delimiter), json (one
// object per row) or yaml. Plus the history table itself (ctl.md §5 history).
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ctl/member_list.h"
#include "dcs/cluster.h"

namespace custos::ctl {

// The whole output (ending with a newline). Cells are printed with Python's str(); an empty
// `columns` prints rows only (tsv) / a table without header line content (pretty).
std::string print_output(const std::vector<std::string>& columns,
                         const std::vector<std::vector<nlohmann::json>>& rows,
                         const std::map<std::string, char>& align, OutputFormat format,
                         const std::string& delimiter = "\t");

// Rows of the `history` key: [TL, LSN, Reason, Timestamp, New Leader], short lines padded
// with "", longer ones cut; elements that are not arrays skipped.
std::vector<std::vector<nlohmann::json>> history_rows(const dcs::Cluster& cluster);

// `custosctl history` output.
std::string render_history(const dcs::Cluster& cluster, OutputFormat format);

}  // namespace custos::ctl
