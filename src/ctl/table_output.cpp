#include "ctl/table_output.h"

#include "ctl/pretty_table.h"
#include "ctl/records.h"

namespace custos::ctl {

using json = nlohmann::json;

std::string print_output(const std::vector<std::string>& columns,
                         const std::vector<std::vector<json>>& rows,
                         const std::map<std::string, char>& align, OutputFormat format,
                         const std::string& delimiter) {
  std::string out;
  if (format == OutputFormat::kJson || format == OutputFormat::kYaml) {
    ordered_json elements = ordered_json::array();
    for (const auto& row : rows) {
      ordered_json e = ordered_json::object();
      for (size_t i = 0; i < columns.size() && i < row.size(); ++i)
        e[columns[i]] = to_ordered(row[i]);
      elements.push_back(std::move(e));
    }
    if (format == OutputFormat::kJson) return python_json_dumps(elements) + "\n";
    return yaml_dump(elements) + "\n\n";
  }
  if (format == OutputFormat::kTsv) {
    auto line = [&](const std::vector<std::string>& cells) {
      for (size_t i = 0; i < cells.size(); ++i) out += (i ? delimiter : "") + cells[i];
      out += "\n";
    };
    if (!columns.empty()) line(columns);
    for (const auto& row : rows) {
      std::vector<std::string> cells;
      for (const auto& v : row) cells.push_back(python_str(v));
      line(cells);
    }
    return out;
  }
  Table table;
  table.columns = columns;
  if (table.columns.empty() && !rows.empty())
    for (size_t i = 0; i < rows.front().size(); ++i)
      table.columns.push_back("Field " + std::to_string(i + 1));
  table.rows = rows;
  table.align = align;
  return render_pretty(table) + "\n";
}

std::vector<std::vector<json>> history_rows(const dcs::Cluster& cluster) {
  std::vector<std::vector<json>> rows;
  if (!cluster.history()) return rows;
  for (const auto& line : cluster.history()->lines()) {
    if (!line.is_array()) continue;
    std::vector<json> row(line.begin(), line.end());
    row.resize(5, json(""));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string render_history(const dcs::Cluster& cluster, OutputFormat format) {
  return print_output({"TL", "LSN", "Reason", "Timestamp", "New Leader"}, history_rows(cluster),
                      {{"TL", 'r'}, {"LSN", 'r'}},
                      format == OutputFormat::kTopology ? OutputFormat::kPretty : format);
}

}  // namespace custos::ctl
