// Test helper: a throw-away PostgreSQL 15 cluster in a temp dir on a free 127.0.0.1 port,
// always stopped (by pid) and removed by the destructor.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "postgres/config_files.h"
#include "postgres/postmaster.h"
#include "child_process.h"

namespace custos::postgres::testing {

inline const std::string kBinDir = "/usr/lib/postgresql/15/bin";
inline std::string bin(const std::string& name) { return kBinDir + "/" + name; }

using custos::test::free_port;

// Reaps exited children (including orphaned server processes re-parented to us).
void reap_children();

class PgCluster {
 public:
  explicit PgCluster(const std::string& name);
  ~PgCluster();

  // initdb (superuser "postgres", password "secret") and the generated config files.
  void init();
  // Starts the postmaster with the command-line parameters of config.md §6.1.
  void start(const std::vector<std::pair<std::string, std::string>>& extra = {});
  // Starts and waits until it accepts connections (fails the test otherwise).
  void start_and_wait(const std::vector<std::pair<std::string, std::string>>& extra = {});
  std::string conninfo(const std::string& user = "postgres") const;
  std::string log() const;

  ConfigLayout layout;
  std::string root;      // temp dir holding everything
  std::string data_dir;
  std::string socket_dir;
  std::string log_file;
  std::string name;
  int port = 0;
  Postmaster postmaster;
  std::map<std::string, std::string> parameters;  // postgresql.conf
};

}  // namespace custos::postgres::testing
