#include "ctl/member_list.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "common/json_truth.h"
#include "ctl/cluster_view.h"
#include "ctl/pretty_table.h"
#include "ctl/records.h"

namespace custos::ctl {

namespace {

using json = nlohmann::json;

// Python's str.title().
std::string title_case(const std::string& s) {
  std::string out = s;
  bool prev_alpha = false;
  for (char& c : out) {
    unsigned char u = static_cast<unsigned char>(c);
    bool alpha = std::isalpha(u);
    if (alpha) c = static_cast<char>(prev_alpha ? std::tolower(u) : std::toupper(u));
    prev_alpha = alpha;
  }
  return out;
}

std::string text_of(const ordered_json& v) {
  if (v.is_string()) return v.get<std::string>();
  return python_str(to_plain(v));
}

// "param: old->new" lines; in pretty/topology lines over 50 characters are hidden.
std::string restart_reason(const ordered_json& member, bool hide_long) {
  auto it = member.find("pending_restart_reason");
  if (it == member.end() || !it->is_object()) return "";
  std::string out;
  for (auto p = it->begin(); p != it->end(); ++p) {
    std::string old_value, new_value;
    if (p.value().is_object()) {
      if (p.value().contains("old_value")) old_value = text_of(p.value()["old_value"]);
      if (p.value().contains("new_value")) new_value = text_of(p.value()["new_value"]);
    }
    std::string line = p.key() + ": " + old_value + "->" + new_value;
    if (hide_long && display_width(line) > 50) line = p.key() + ": [hidden - too long]";
    if (!out.empty()) out += "\n";
    out += line;
  }
  return out;
}

// The column key of a column title: "Lag in MB" -> "lag_in_mb".
std::string column_key(const std::string& column) {
  std::string k;
  for (char c : column) k += c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return k;
}

std::string service_info(const ordered_json& cluster) {
  std::vector<std::string> info;
  if (cluster.contains("pause") && python_truthy(to_plain(cluster["pause"]))) info.push_back("Maintenance mode: on");
  if (cluster.contains("scheduled_switchover")) {
    const auto& sw = cluster["scheduled_switchover"];
    std::string line = "Switchover scheduled at: " + sw["at"].get<std::string>();
    for (const char* name : {"from", "to"}) {
      if (!sw.contains(name)) continue;
      std::string label = name;
      line += "\n" + std::string(24 - label.size(), ' ') + label + ": " + text_of(sw[name]);
    }
    info.push_back(line);
  }
  std::string out;
  for (size_t i = 0; i < info.size(); ++i) out += (i ? "\n " : " ") + info[i];
  return out;
}

}  // namespace

std::optional<OutputFormat> parse_output_format(const std::string& text) {
  if (text == "pretty") return OutputFormat::kPretty;
  if (text == "tsv") return OutputFormat::kTsv;
  if (text == "json") return OutputFormat::kJson;
  if (text == "yaml" || text == "yml") return OutputFormat::kYaml;
  if (text == "topology") return OutputFormat::kTopology;
  return std::nullopt;
}

std::string render_members(const dcs::Cluster& cluster, const std::string& name, const ListOptions& options) {
  const OutputFormat fmt = options.format;
  const bool pretty_like = fmt == OutputFormat::kPretty || fmt == OutputFormat::kTopology;

  const auto init = cluster.initialize();
  const std::string initialize = !init ? "uninitialized" : init->empty() ? "initializing" : *init;

  const bool v4 = options.presentation == PatroniGeneration::v4_1;
  std::vector<std::string> columns = {"Cluster", "Member", "Host", "Role", "State", "TL"};
  if (v4)
    columns.insert(columns.end(), {"Receive LSN", "Receive Lag", "Replay LSN", "Replay Lag"});
  else
    columns.push_back("Lag in MB");
  std::map<int, ordered_json> clusters;
  clusters[options.group.value_or(0)] = cluster_as_json(cluster);
  if (options.citus) {
    columns.insert(columns.begin() + 1, "Group");
    if (!options.group)
      for (const auto& [g, worker] : cluster.workers()) clusters[g] = cluster_as_json(worker);
  }

  // Members with a host decide which optional columns appear and whether ports are shown.
  std::vector<const ordered_json*> with_host;
  for (const auto& [g, c] : clusters)
    for (const auto& m : c["members"])
      if (m.contains("host")) with_host.push_back(&m);
  for (const char* c : {"Pending restart", "Pending restart reason", "Scheduled restart", "Tags"}) {
    const std::string key = column_key(c);
    bool any = false;
    for (const auto* m : with_host)
      if (m->contains(key) && python_truthy(to_plain((*m)[key]))) any = true;
    if (options.extended || any) columns.push_back(c);
  }
  bool append_port = false;
  std::set<std::string> hosts;
  for (const auto* m : with_host) {
    if (m->contains("port") && (*m)["port"] != 5432) append_port = true;
    hosts.insert(text_of((*m)["host"]));
  }
  if (hosts.size() < with_host.size()) append_port = true;

  Table table;
  table.align = {{"Group", 'r'}, {"Lag in MB", 'r'}, {"TL", 'r'}, {"Receive LSN", 'r'}, {"Replay LSN", 'r'},
                 {"Lag", 'r'}, {"Receive Lag", 'r'}, {"Replay Lag", 'r'}};
  for (const auto& [g, c] : clusters) {
    std::vector<ordered_json> members(c["members"].begin(), c["members"].end());
    if (fmt == OutputFormat::kTopology) members = topology_sort(members);
    for (const ordered_json& m : members) {
      std::map<std::string, ordered_json> values;
      values["cluster"] = name;
      values["group"] = g;
      values["member"] = m["name"];
      std::string host = m.contains("host") ? text_of(m["host"]) : "";
      if (append_port && !host.empty() && m.contains("port") && python_truthy(to_plain(m["port"])))
        host += ":" + text_of(m["port"]);
      values["host"] = host;
      std::string role = text_of(m["role"]);
      std::replace(role.begin(), role.end(), '_', ' ');
      values["role"] = title_case(role);
      values["state"] = m["state"];
      values["tl"] = m.contains("timeline") ? m["timeline"] : ordered_json("");
      // Lags in whole MB; an unknown lag is a blank cell.
      auto in_mb = [](const ordered_json& lag) -> ordered_json {
        if (lag.is_number_integer())
          return static_cast<int64_t>(std::nearbyint(static_cast<double>(lag.get<int64_t>()) / 1024.0 / 1024.0));
        return "";
      };
      ordered_json lag = m.contains("lag") ? m["lag"] : ordered_json("");
      values["lag_in_mb"] = lag.is_number_integer() ? in_mb(lag) : lag;
      if (v4 && m.contains("receive_lsn")) {  // not the leader
        ordered_json receive_lsn = m["receive_lsn"], receive_lag = m["receive_lag"];
        ordered_json replay_lsn = m["replay_lsn"], replay_lag = m["replay_lag"];
        // A member that publishes only xlog_location (Patroni before 4.1, custos presenting
        // 3.3): its position goes under Receive while it streams, else under Replay.
        if (receive_lsn == "unknown" && replay_lsn == "unknown" && m.value("lsn", ordered_json("unknown")) != "unknown") {
          const bool streaming = m["state"] == "streaming";
          (streaming ? receive_lsn : replay_lsn) = m["lsn"];
          (streaming ? receive_lag : replay_lag) = m["lag"];
        }
        values["receive_lsn"] = receive_lsn;
        values["receive_lag"] = in_mb(receive_lag);
        values["replay_lsn"] = replay_lsn;
        values["replay_lag"] = in_mb(replay_lag);
      }
      values["pending_restart"] =
          m.contains("pending_restart") && python_truthy(to_plain(m["pending_restart"])) ? "*" : "";
      values["pending_restart_reason"] = restart_reason(m, pretty_like);
      if (m.contains("scheduled_restart")) {
        const auto& sr = m["scheduled_restart"];
        std::string value;
        if (sr.is_object()) {
          if (sr.contains("schedule")) value = text_of(sr["schedule"]);
          if (sr.contains("postgres_version")) value += " if version < " + text_of(sr["postgres_version"]);
        } else {
          value = text_of(sr);
        }
        values["scheduled_restart"] = value;
      }
      if (m.contains("tags")) values["tags"] = m["tags"];

      std::vector<json> row;
      for (const auto& col : columns) {
        auto it = values.find(column_key(col));
        row.push_back(it == values.end() ? json("") : to_plain(it->second));
      }
      table.rows.push_back(std::move(row));
    }
  }

  std::string title;
  if (options.citus)
    title = " Citus cluster: " + name +
            (options.group ? " (group: " + std::to_string(*options.group) + ", " + initialize + ")" : "") + " ";
  else
    title = " Cluster: " + name + " (" + initialize + ") ";

  std::ostringstream out;
  if (fmt == OutputFormat::kJson || fmt == OutputFormat::kYaml) {
    // Records keyed by column name; empty strings are left out.
    ordered_json records = ordered_json::array();
    for (const auto& row : table.rows) {
      ordered_json rec = ordered_json::object();
      for (size_t i = 0; i < columns.size(); ++i) {
        if (row[i].is_string() && row[i].get_ref<const std::string&>().empty()) continue;
        rec[columns[i]] = to_ordered(row[i]);
      }
      records.push_back(std::move(rec));
    }
    out << (fmt == OutputFormat::kJson ? python_json_dumps(records) : yaml_dump(records)) << "\n";
    return out.str();
  }

  // Tags as YAML: block style in pretty, flow style in tsv/topology.
  const auto tags_it = std::find(columns.begin(), columns.end(), "Tags");
  if (tags_it != columns.end()) {
    const size_t i = static_cast<size_t>(tags_it - columns.begin());
    for (auto& row : table.rows)
      if (python_truthy(row[i])) {
        std::string y = yaml_dump(to_ordered(row[i]), fmt != OutputFormat::kPretty);
        while (!y.empty() && std::isspace(static_cast<unsigned char>(y.back()))) y.pop_back();
        row[i] = y;
      }
  }

  if (fmt == OutputFormat::kTsv) {
    auto join = [](const std::vector<std::string>& cells) {
      std::string s;
      for (size_t i = 0; i < cells.size(); ++i) s += (i ? "\t" : "") + cells[i];
      return s;
    };
    out << join(columns) << "\n";
    for (const auto& row : table.rows) {
      std::vector<std::string> cells;
      for (const auto& v : row) cells.push_back(python_str(v));
      out << join(cells) << "\n";
    }
    return out.str();
  }

  // pretty / topology: the Cluster (and, with one group, Group) columns go to the title.
  const size_t skip = title.find(" (group: ") != std::string::npos ? 2 : 1;
  table.columns.assign(columns.begin() + static_cast<long>(skip), columns.end());
  for (auto& c : table.columns)
    if (c == "Receive Lag" || c == "Replay Lag") c = "Lag";
  for (auto& row : table.rows) row.erase(row.begin(), row.begin() + static_cast<long>(skip));
  table.title = title;
  out << render_pretty(table) << "\n";

  for (const auto& [g, c] : clusters) {
    std::string info = service_info(c);
    if (info.empty()) continue;
    if (options.citus && !options.group) out << "Citus group: " << g << "\n";
    out << info << "\n";
  }
  return out.str();
}

}  // namespace custos::ctl
