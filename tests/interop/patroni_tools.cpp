#include "patroni_tools.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "net/http_client.h"

namespace custos::interop {

using namespace std::chrono_literals;

namespace {

// Keeps Patroni's Python away from a user site dir and bytecode writes in the home dir.
const std::map<std::string, std::string>& python_env() {
  static const std::map<std::string, std::string> env = {{"PYTHONNOUSERSITE", "1"},
                                                         {"PYTHONDONTWRITEBYTECODE", "1"},
                                                         {"LC_ALL", "C.UTF-8"}};
  return env;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string as_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

}  // namespace

std::string patroni_unavailable_reason() {
  for (const char* f : {kPython, kPatroni, kPatronictl})
    if (::access(f, X_OK) != 0) return std::string(f) + " is missing (run scripts/install-deps.sh)";
  auto r = test::run_command({kPython, kPatroni, "--version"}, 30s, python_env());
  if (r.exit_code != 0 || r.output.find("3.0.2") == std::string::npos)
    return "patroni --version did not report 3.0.2: " + r.output;
  return "";
}

void start_patroni(e2e::TestCluster& cluster, int i) {
  e2e::Node& n = cluster.node(i);
  if (n.agent && n.agent->running()) throw std::runtime_error("agent " + n.name + " is already running");
  // The generated YAML is Patroni's format; only the log level is lowered (Patroni's DEBUG logs
  // every HTTP request).
  std::string yaml = slurp(n.config_file);
  auto pos = yaml.find("level: DEBUG");
  if (pos != std::string::npos) {
    yaml.replace(pos, 12, "level: INFO");
    std::ofstream out(n.config_file, std::ios::trunc);
    out << yaml;
    if (!out) throw std::runtime_error("cannot rewrite " + n.config_file);
  }
  {
    std::ofstream log(n.log_file, std::ios::app);
    log << "=============== interop: starting Patroni 3.0.2 as " << n.name << " (start #" << ++n.starts
        << ") ===============\n";
  }
  test::SpawnOptions o;
  o.argv = {kPython, kPatroni, n.config_file};
  o.env = python_env();
  o.cwd = n.dir;
  o.output_file = n.log_file;
  n.agent = std::make_unique<test::ChildProcess>(o);
  n.expect_running = true;
}

test::RunResult patronictl(e2e::TestCluster& cluster, const std::vector<std::string>& args, milliseconds timeout) {
  const std::string cfg = cluster.dir() + "/patronictl.yml";
  if (::access(cfg.c_str(), R_OK) != 0) {
    std::ofstream out(cfg);
    out << "scope: " << cluster.options().scope << "\n"
        << "namespace: /service/\n"
        << cluster.dcs_section_yaml();
    if (!out) throw std::runtime_error("cannot write " + cfg);
  }
  std::vector<std::string> argv = {kPython, kPatronictl, "-c", cfg};
  argv.insert(argv.end(), args.begin(), args.end());
  return test::run_command(argv, timeout, python_env());
}

const ListedMember* ListedCluster::find(const std::string& name) const {
  for (const auto& m : members)
    if (m.member == name) return &m;
  return nullptr;
}

std::optional<std::string> ListedCluster::leader() const {
  std::optional<std::string> out;
  for (const auto& m : members) {
    if (m.role != "Leader") continue;
    if (out) return std::nullopt;  // two leaders: none
    out = m.member;
  }
  return out;
}

ListedCluster patronictl_list(e2e::TestCluster& cluster) {
  ListedCluster out;
  auto r = patronictl(cluster, {"list", "-f", "json"});
  if (r.exit_code != 0) {
    out.error = "patronictl list exited " + std::to_string(r.exit_code) + ": " + r.output;
    return out;
  }
  // The JSON array starts a line (warnings may precede it).
  std::size_t start = std::string::npos;
  if (r.output.rfind('[', 0) == 0) {
    start = 0;
  } else if (auto nl = r.output.find("\n["); nl != std::string::npos) {
    start = nl + 1;
  }
  nlohmann::json j;
  if (start != std::string::npos) j = nlohmann::json::parse(r.output.substr(start), nullptr, false);
  if (!j.is_array()) {
    out.error = "patronictl list -f json printed no JSON array: " + r.output;
    return out;
  }
  for (const auto& row : j) {
    if (!row.is_object()) continue;
    ListedMember m;
    m.member = as_text(row.value("Member", nlohmann::json()));
    m.host = as_text(row.value("Host", nlohmann::json()));
    m.role = as_text(row.value("Role", nlohmann::json()));
    m.state = as_text(row.value("State", nlohmann::json()));
    m.tl = as_text(row.value("TL", nlohmann::json()));
    m.lag = as_text(row.value("Lag in MB", nlohmann::json()));
    out.members.push_back(std::move(m));
  }
  return out;
}

RestReply rest(e2e::TestCluster& cluster, int i, const std::string& method, const std::string& path,
               const std::string& json_body, milliseconds timeout) {
  static net::HttpClient client;
  net::HttpRequest req;
  req.method = method;
  req.url = "http://127.0.0.1:" + std::to_string(cluster.node(i).api_port) + path;
  req.body = json_body;
  if (!json_body.empty()) req.content_type = "application/json";
  auto r = client.request(req, timeout);
  RestReply out;
  if (!r.ok()) return out;
  out.status = r.value().status;
  out.body = r.value().body;
  return out;
}

void wait_for_leader(e2e::TestCluster& cluster, const std::string& name, milliseconds timeout) {
  auto deadline = e2e::Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<milliseconds>(deadline - e2e::Clock::now());
    int p = cluster.wait_for_primary(std::max(left, milliseconds(1)));
    if (cluster.name(p) == name) return;
    if (e2e::Clock::now() >= deadline)
      throw std::runtime_error("leader is " + cluster.name(p) + ", not " + name + "\n" + cluster.describe());
    std::this_thread::sleep_for(300ms);
  }
}

}  // namespace custos::interop
