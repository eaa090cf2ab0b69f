// The custos binary at start-up, outside any cluster: started as root, it says that PostgreSQL
// will refuse to run and goes on, as Patroni does (it must not refuse what Patroni accepts).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "child_process.h"

namespace custos::test {
namespace {

using namespace std::chrono_literals;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(AppStart, AsRootItWarnsAndRuns) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs to run as root";
  const std::string dir = make_temp_dir("custos-app");
  const std::string config = dir + "/custos.yml";
  std::ofstream(config) << "scope: app\nname: n1\n"
                        << "restapi:\n  listen: 127.0.0.1:" << free_port() << "\n  connect_address: 127.0.0.1:1\n"
                        << "etcd3:\n  hosts: 127.0.0.1:" << free_port() << "\n"
                        << "postgresql:\n  listen: 127.0.0.1:" << free_port() << "\n  data_dir: " << dir << "/data\n"
                        << "  authentication:\n    superuser:\n      username: postgres\n"
                        << "    replication:\n      username: replicator\n";
  SpawnOptions o;
  o.argv = {CUSTOS_PATH, config};
  o.output_file = dir + "/out.log";
  ChildProcess agent(o);
  std::this_thread::sleep_for(2s);
  EXPECT_TRUE(agent.running()) << slurp(o.output_file);
  EXPECT_NE(slurp(o.output_file).find("WARNING: running as root: PostgreSQL refuses to run as root"),
            std::string::npos)
      << slurp(o.output_file);
  agent.signal(SIGTERM);
  agent.stop(10s);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace custos::test
