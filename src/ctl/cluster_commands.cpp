// show-config, history, dsn, edit-config, remove and version (ctl.md §5): the commands that read
// the DCS and, for edit-config and remove, write it directly.
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/version.h"
#include "config/validate.h"
#include "ctl/command_context.h"
#include "ctl/edit_config.h"
#include "ctl/member_selection.h"
#include "ctl/schedule.h"
#include "ctl/table_output.h"

namespace custos::ctl {

namespace {

using json = nlohmann::json;

std::string read_all(std::istream& in) {
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string read_input_file(const std::string& name, std::istream& stdin_stream) {
  if (name == "-") return read_all(stdin_stream);
  std::ifstream f(name);
  if (!f) throw CtlError("Could not open file " + name + " for reading");
  return read_all(f);
}

// An executable on PATH (or the path itself when it names a file).
std::optional<std::string> find_executable(const std::string& name) {
  std::error_code ec;
  if (name.find('/') != std::string::npos)
    return std::filesystem::is_regular_file(name, ec) ? std::optional(name) : std::nullopt;
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (std::filesystem::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  return std::nullopt;
}

// Runs `command "$1"` through sh with the file as $1; returns the exit status.
int run_shell_with_file(const std::string& command, const std::string& file) {
  pid_t pid = ::fork();
  if (pid < 0) throw CtlError("cannot start the editor: fork failed");
  if (pid == 0) {
    const std::string script = command + " \"$1\"";
    ::execl("/bin/sh", "sh", "-c", script.c_str(), "sh", file.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

std::string invoke_editor(const std::string& before, const std::string& cluster_name) {
  std::string editor;
  if (const char* e = std::getenv("EDITOR"); e && *e) editor = e;
  if (editor.empty())
    for (const char* candidate : {"editor", "vi"})
      if (auto found = find_executable(candidate)) {
        editor = *found;
        break;
      }
  if (editor.empty())
    throw CtlError("EDITOR environment variable is not set. editor or vi are not available");

  std::string tmpl =
      (std::filesystem::temp_directory_path() / (cluster_name + "-config-XXXXXX.yaml")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  int fd = ::mkstemps(buf.data(), 5);
  if (fd < 0) throw CtlError("cannot create a temporary file for editing");
  const std::string path = buf.data();
  (void)!::write(fd, before.data(), before.size());
  ::close(fd);
  int rc = run_shell_with_file(editor, path);
  std::string after;
  {
    std::ifstream f(path);
    after = read_all(f);
  }
  std::filesystem::remove(path);
  if (rc != 0) throw CtlError("Editor exited with return code " + std::to_string(rc));
  return after;
}

void show_diff(CommandContext& ctx, const std::string& before, const std::string& after) {
  const auto lines = unified_diff(before, after);
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  if (&ctx.out == &std::cout && ::isatty(STDOUT_FILENO)) {
    std::string pager;
    if (const char* p = std::getenv("PAGER"); p && *p) pager = p;
    if (pager.empty()) pager = find_executable("less") ? "less -R" : "more";
    std::cout.flush();
    if (FILE* f = ::popen(pager.c_str(), "w")) {
      std::fwrite(text.data(), 1, text.size(), f);
      ::pclose(f);
      return;
    }
  }
  ctx.out << text;
}

}  // namespace

int run_show_config(CommandContext& ctx) {
  const std::string name = ctx.cluster_name();
  auto dcs = ctx.make_dcs(name, ctx.group(true));
  auto cluster = ctx.read_cluster(*dcs, name);
  const json data = cluster.config() ? cluster.config()->data() : json::object();
  ctx.out << format_config_for_editing(data) << "\n";
  return 0;
}

int run_history(CommandContext& ctx) {
  const std::string name = ctx.cluster_name();
  auto dcs = ctx.make_dcs(name, ctx.group(true));
  auto cluster = ctx.read_cluster(*dcs, name);
  ctx.out << render_history(cluster, ctx.inv.format);
  return 0;
}

int run_dsn(CommandContext& ctx) {
  if (ctx.inv.role && ctx.inv.member)
    throw CtlError("--role and --member are mutually exclusive options");
  const std::string name = ctx.cluster_name();
  const auto group = ctx.group(true);
  auto dcs = ctx.make_dcs(name, group);
  auto cluster = ctx.read_cluster(*dcs, name);
  const RoleFilter role = parse_role(ctx.inv.role.value_or("leader")).value_or(RoleFilter::kLeader);
  auto member = find_member(cluster_groups(cluster, ctx.citus() && !group), role, ctx.inv.member);
  if (!member) throw CtlError("Can not find a suitable member");
  ctx.out << member_dsn(*member) << "\n";
  return 0;
}

int run_edit_config(CommandContext& ctx) {
  const auto& args = ctx.inv.edit;
  const std::string name = ctx.cluster_name();
  auto dcs = ctx.make_dcs(name, ctx.group(true));
  auto cluster = ctx.read_cluster(*dcs, name);
  if (!cluster.config()) throw CtlError("The config key does not exist in the cluster " + name);
  const json current = cluster.config()->data();
  const std::string before = format_config_for_editing(current);

  std::optional<std::string> after;  // set once a change was requested
  json changed = current;
  auto take = [&](Result<json, std::string> r) {
    if (!r) throw CtlError(r.error());
    changed = *r;
    after = format_config_for_editing(changed);
  };
  if (args.replace)
    take(apply_yaml_text(json::object(), read_input_file(*args.replace, ctx.in),
                         *args.replace == "-" ? "stdin" : *args.replace));
  if (args.apply)
    take(apply_yaml_text(changed, read_input_file(*args.apply, ctx.in),
                         *args.apply == "-" ? "stdin" : *args.apply));
  if (!args.set.empty() || !args.pg.empty()) {
    std::vector<std::string> pairs = args.set;
    for (auto& p : pg_pairs_to_set_pairs(args.pg)) pairs.push_back(p);
    take(apply_config_changes(changed, pairs));
  }
  if (!after) {
    after = invoke_editor(before, name);
    auto parsed = parse_edited_yaml(*after);
    if (!parsed) throw CtlError(parsed.error());
    changed = *parsed;
  }

  if (changed == current) {
    if (!args.quiet) ctx.out << "Not changed\n";
    return 0;
  }
  // Patroni writes whatever mapping the user leaves; custos warns about what the nodes will
  // ignore or adjust, and refuses only with --strict.
  const auto problems = config::dynamic_configuration_problems(changed);
  if (!problems.empty() && args.strict) {
    std::string message = "Invalid configuration, nothing was changed (--strict):";
    for (const auto& p : problems) message += "\n  " + p;
    throw CtlError(message);
  }
  for (const auto& p : problems) ctx.err << "Warning: " << p << "\n";
  if (!args.quiet) show_diff(ctx, before, *after);

  if ((args.apply.value_or("") == "-" || args.replace.value_or("") == "-") && !ctx.inv.force) {
    ctx.out << "Use --force option to apply changes\n";
    return 0;
  }
  if (!ctx.inv.force && !ctx.prompter.confirm("Apply these changes?")) return 0;
  auto written = dcs->set_config_value(changed.dump(), cluster.config()->version);
  if (!written) {
    if (written.error().kind == dcs::DcsErrorKind::kCasConflict)
      throw CtlError("Config modification aborted due to concurrent changes");
    throw CtlError("cannot write the configuration: " + written.error().describe());
  }
  ctx.out << "Configuration changed\n";
  return 0;
}

int run_remove(CommandContext& ctx) {
  const std::string name = ctx.cluster_name();
  if (ctx.citus() && !ctx.inv.group)
    throw CtlError("For Citus clusters the --group must me specified");
  auto dcs = ctx.make_dcs(name, ctx.inv.group);
  auto cluster = ctx.read_cluster(*dcs, name);
  ctx.print_members(cluster, name, ctx.inv.group, ctx.inv.format);

  if (ctx.prompter.prompt("Please confirm the cluster name to remove") != name)
    throw CtlError("Cluster names specified do not match");
  const std::string phrase = "Yes I am aware";
  if (ctx.prompter.prompt("You are about to remove all information in DCS for " + name +
                          ", please type: \"" + phrase + "\"") != phrase)
    throw CtlError("You did not exactly type \"" + phrase + "\"");
  if (auto leader = cluster.leader_name()) {
    if (ctx.prompter.prompt(
            "This cluster currently is healthy. Please specify the leader name to continue") !=
        *leader)
      throw CtlError("You did not specify the current leader of the cluster");
  }
  auto deleted = dcs->delete_cluster();
  if (!deleted)
    throw CtlError("cannot remove the cluster from the DCS: " + deleted.error().describe());
  return 0;
}

int run_version(CommandContext& ctx) {
  ctx.out << "custosctl version " << kVersion << "\n";
  if (!ctx.inv.cluster) return 0;
  ctx.out << "\n";
  ctx.load();
  const std::string name = *ctx.inv.cluster;
  auto dcs = ctx.make_dcs(name, ctx.inv.group);
  auto cluster = ctx.read_cluster(*dcs, name);
  const auto& names = ctx.inv.members;
  for (const auto& m : members_with_role(cluster_groups(cluster, ctx.citus() && !ctx.inv.group),
                                         RoleFilter::kAny)) {
    if (!m.api_url()) continue;
    if (!names.empty() && std::find(names.begin(), names.end(), m.name()) == names.end()) continue;
    auto r = ctx.api().call(m, "GET", "patroni", std::nullopt, std::chrono::seconds(5));
    std::string line = m.name() + ": ";
    if (!r) {
      line += "failed to get version: " + r.error();
    } else {
      auto data = json::parse(r->body, nullptr, false);
      if (!data.is_object()) {
        line += "failed to get version: status code " + std::to_string(r->status) +
                ", invalid JSON reply";
      } else {
        std::string version = "None";
        if (data.contains("patroni") && data["patroni"].is_object() &&
            data["patroni"].contains("version"))
          version = data["patroni"]["version"].is_string()
                        ? data["patroni"]["version"].get<std::string>()
                        : data["patroni"]["version"].dump();
        line += "Patroni " + version;
        if (data.contains("server_version") && data["server_version"].is_number_integer() &&
            data["server_version"].get<long long>() != 0)
          line += " PostgreSQL " + format_pg_version(data["server_version"].get<long long>());
      }
    }
    ctx.out << line << "\n";
  }
  return 0;
}

}  // namespace custos::ctl
