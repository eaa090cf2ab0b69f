// ClusterFixture: the GoogleTest fixture every end-to-end suite shares. Owns one TestCluster
// (created by the suite's SetUp with its options), checks in TearDown that no agent died on its
// own, dumps the cluster's state and logs when the test failed, and stops everything.
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_cluster.h"

namespace custos::e2e {

// A measured figure, printed so that it is easy to find in the test output.
inline void report(const std::string& what, double seconds) {
  std::printf("[  FIGURE  ] %s: %.2f s\n", what.c_str(), seconds);
  std::fflush(stdout);
}

class ClusterFixture : public ::testing::Test {
 protected:
  void make_cluster(ClusterOptions options) { cluster_ = std::make_unique<TestCluster>(std::move(options)); }

  void TearDown() override {
    if (!cluster_) return;
    cluster_->check_no_agent_died();
    if (HasFailure())
      std::printf("===== cluster state at the end of the failed test =====\n%s%s\n", cluster_->describe().c_str(),
                  cluster_->logs().c_str());
    cluster_.reset();  // stops everything by PID, removes the temp dir
  }

  TestCluster& c() { return *cluster_; }

  // Every node index but i.
  std::vector<int> others(int i) const {
    std::vector<int> v;
    for (int j = 0; j < cluster_->size(); ++j)
      if (j != i) v.push_back(j);
    return v;
  }

  // GET /patroni of node i, parsed; {} when it did not answer 200 with an object.
  nlohmann::json patroni(int i) {
    std::string body;
    if (c().rest_status(i, "/patroni", &body) != 200) return nlohmann::json::object();
    auto j = nlohmann::json::parse(body, nullptr, false);
    return j.is_object() ? j : nlohmann::json::object();
  }

  template <typename Pred>
  bool eventually(Pred pred, std::chrono::seconds timeout) {
    return e2e::eventually(pred, timeout);
  }

  std::unique_ptr<TestCluster> cluster_;
};

}  // namespace custos::e2e
