// Test main of the etcd3 integration tests. Also a helper mode used by the tests themselves:
//   <binary> --hold-lock <host:port> <scope> <name> <ttl>
// takes the leader lock and keeps refreshing it every 500 ms until killed.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "child_process.h"
#include "dcs/etcd3/etcd3_dcs.h"

namespace {

int hold_lock(char** argv) {
  using namespace std::chrono_literals;
  nlohmann::json config = {{"scope", argv[3]}, {"name", argv[4]}, {"ttl", std::atoi(argv[5])}, {"loop_wait", 1},
                           {"retry_timeout", 2}, {"etcd3", {{"hosts", argv[2]}}}};
  auto dcs = custos::dcs::etcd3::Etcd3Dcs::from_config(config);
  if (!dcs) return 2;
  bool held = false;
  for (int i = 0; i < 600; ++i) {  // bounded: at most ~5 minutes
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
  if (argc == 6 && std::strcmp(argv[1], "--hold-lock") == 0) return hold_lock(argv);
  // PID 1 does not reap orphans here: adopt and reap them ourselves.
  custos::test::become_subreaper();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
