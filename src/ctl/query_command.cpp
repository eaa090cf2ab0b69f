// `custosctl query` (ctl.md §5): SQL on the leader (or a member picked by role/name) through
// libpq, rows printed with column headers; connection and SQL errors printed as result rows.
#include <fstream>
#include <sstream>
#include <thread>

#include "ctl/command_context.h"
#include "ctl/member_selection.h"
#include "ctl/schedule.h"
#include "ctl/table_output.h"
#include "postgres/pg_connection.h"

namespace custos::ctl {

namespace {

using json = nlohmann::json;

std::string conninfo_value(const std::string& v) {
  std::string out = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string kw_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return std::to_string(v.get<int64_t>());
  return v.dump();
}

}  // namespace

int run_query(CommandContext& ctx) {
  const auto& args = ctx.inv.query;
  if (ctx.inv.role && ctx.inv.member)
    throw CtlError("--role and --member are mutually exclusive options");
  if (args.file && args.command)
    throw CtlError("--file and --command are mutually exclusive options");
  if (!args.file && !args.command) throw CtlError("You need to specify either --command or --file");
  const std::string role_text = ctx.inv.member ? "any" : ctx.inv.role.value_or("leader");
  const RoleFilter role = parse_role(role_text).value_or(RoleFilter::kLeader);

  json auth = json::object();
  if (args.username) auth["username"] = *args.username;
  if (args.password) auth["password"] = ctx.prompter.prompt("Password", std::nullopt, true);
  std::string sql;
  if (args.file) {
    std::ifstream f(*args.file);
    if (!f)
      throw CtlError("Invalid value for '--file' / '-f': '" + *args.file +
                     "': No such file or directory");
    std::stringstream ss;
    ss << f.rdbuf();
    sql = ss.str();
  } else {
    sql = *args.command;
  }
  const OutputFormat format = parse_output_format(args.format).value_or(OutputFormat::kTsv);

  const std::string name = ctx.cluster_name();
  const auto group = ctx.group(true);
  auto dcs = ctx.make_dcs(name, group);
  std::unique_ptr<postgres::PgConnection> conn;
  const double watch = args.watch.value_or(0);
  while (true) {
    std::vector<std::string> columns;
    std::vector<std::vector<json>> rows;
    auto error_row = [&](std::string message) {
      while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
        message.pop_back();
      for (auto& ch : message)
        if (ch == '\n') ch = ' ';
      columns.clear();
      rows = {{json(local_timestamp(0)), json(message)}};
    };
    if (!conn) {
      auto cluster = ctx.read_cluster(*dcs, name);
      auto member =
          find_member(cluster_groups(cluster, ctx.citus() && !group), role, ctx.inv.member);
      if (member) {
        json kw = member->conn_kwargs(auth);
        std::string conninfo;
        for (auto it = kw.begin(); it != kw.end(); ++it) {
          if (it.value().is_null() || it.key() == "dbname") continue;
          conninfo += it.key() + "=" + conninfo_value(kw_text(it.value())) + " ";
        }
        if (args.dbname) conninfo += "dbname=" + conninfo_value(*args.dbname) + " ";
        conninfo += "fallback_application_name='Patroni ctl' connect_timeout=5";
        postgres::ConnectionOptions options;
        options.application_name.clear();
        options.query_timeout = std::chrono::hours(24);
        conn = std::make_unique<postgres::PgConnection>(conninfo, options);
      }
    }
    bool connected = false;
    if (conn) {
      auto c = conn->connect();
      if (!c) {
        error_row("ERROR, SQLSTATE: " + c.error().message);
        conn.reset();
      } else if (role != RoleFilter::kAny && role != RoleFilter::kLeader) {
        auto v = conn->query_value("SELECT pg_catalog.pg_is_in_recovery()");
        const bool in_recovery = v && v->value_or("f") == "t";
        const bool wants_recovery =
            role == RoleFilter::kReplica || role == RoleFilter::kStandbyLeader;
        connected = v && in_recovery == wants_recovery;
        if (!connected) conn.reset();
      } else {
        connected = true;
      }
    }
    if (rows.empty() && !connected) {
      error_row(ctx.inv.member ? "No connection to member " + *ctx.inv.member + " is available"
                               : "No connection to role=" + role_text + " is available");
    }
    if (connected) {
      auto r = conn->query(sql);
      if (!r) {
        error_row("ERROR, SQLSTATE: " +
                  (r.error().sqlstate.empty() ? r.error().message : r.error().sqlstate));
        conn.reset();
      } else {
        columns = r->columns;
        for (const auto& row : r->rows) {
          std::vector<json> cells;
          for (const auto& cell : row) cells.push_back(cell ? json(*cell) : json(nullptr));
          rows.push_back(std::move(cells));
        }
      }
    }
    ctx.out << print_output(columns, rows, {}, format, args.delimiter);
    ctx.out.flush();
    if (watch <= 0) return 0;
    std::this_thread::sleep_for(std::chrono::duration<double>(watch));
  }
}

}  // namespace custos::ctl
