// Test main of the backend contract suite. Also a helper mode used by the tests themselves:
//   <binary> --hold-lock <file with a Patroni configuration as JSON>
// builds the backend that configuration names, takes the leader lock and keeps refreshing it
// every 500 ms until killed (at most ~5 minutes).
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <thread>

#include "child_process.h"
#include "dcs/factory/dcs_factory.h"

namespace {

int hold_lock(const char* path) {
  using namespace std::chrono_literals;
  std::ifstream in(path);
  auto config = nlohmann::json::parse(in, nullptr, false);
  if (config.is_discarded()) return 2;
  auto dcs = custos::dcs::make_dcs(config, custos::dcs::DcsMode::agent);
  if (!dcs) return 2;
  bool held = false;
  for (int i = 0; i < 600; ++i) {
    if (!held) {
      held = (*dcs)->attempt_to_acquire_leader().ok();
    } else {
      (void)(*dcs)->get_cluster();
      held = (*dcs)->update_leader(custos::dcs::LeaderRefresh{}).ok();
    }
    std::this_thread::sleep_for(500ms);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--hold-lock") == 0) return hold_lock(argv[2]);
  // PID 1 does not reap orphans here: adopt and reap them ourselves.
  custos::test::become_subreaper();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
