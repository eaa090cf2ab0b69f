// The checker of the fault suite must see what it is there to see: a split brain (a node
// acknowledging writes the cluster later lost while another node acknowledged writes too), lost
// commits, and how long nobody could write; and must not call a clean handover a split brain.
#include "write_recorder.h"

#include <gtest/gtest.h>

namespace custos::test {
namespace {

using namespace std::chrono_literals;
using Ack = WriteRecorder::Ack;

const WriteRecorder::SteadyTime t0{std::chrono::seconds(1000)};

// Acknowledgements every 10 ms from `from` to `to` (ms after t0), sequence numbers from `seq`.
std::vector<Ack> acks(int from, int to, int64_t seq = 1) {
  std::vector<Ack> out;
  for (int ms = from; ms <= to; ms += 10) {
    auto at = t0 + std::chrono::milliseconds(ms);
    out.push_back(Ack{seq++, at - 2ms, at});
  }
  return out;
}

std::set<std::pair<std::string, int64_t>> present(const std::map<std::string, std::vector<Ack>>& all) {
  std::set<std::pair<std::string, int64_t>> out;
  for (const auto& [n, list] : all)
    for (const auto& a : list) out.insert({n, a.seq});
  return out;
}

TEST(WriteRecorder, ACleanHandoverIsNoSplitBrainEvenWhenTheLastAndFirstAcksCross) {
  std::map<std::string, std::vector<Ack>> all = {{"a", acks(0, 1000)}, {"b", acks(995, 3000)}};
  auto rep = WriteRecorder::analyze_acks(all, present(all), t0, t0 + 3s);
  EXPECT_EQ(rep.dual_primary_ms, 0);
  EXPECT_EQ(rep.lost, 0);
  EXPECT_EQ(rep.acknowledged, static_cast<int64_t>(all["a"].size() + all["b"].size()));
  EXPECT_LT(rep.max_unavailable_s, 0.02);
}

TEST(WriteRecorder, AckedWritesLostWhileAnotherNodeTookWritesAreASplitBrain) {
  std::map<std::string, std::vector<Ack>> all = {{"old", acks(0, 3000)}, {"new", acks(2000, 5000)}};
  auto keep = present(all);
  // The old primary's writes after 2 s were discarded (rewound away).
  for (const auto& a : all["old"])
    if (a.at > t0 + 2000ms) keep.erase({"old", a.seq});
  auto rep = WriteRecorder::analyze_acks(all, keep, t0, t0 + 5s);
  EXPECT_NEAR(rep.dual_primary_ms, 1000, 20);
  EXPECT_EQ(rep.lost, 100);
}

TEST(WriteRecorder, ASingleLostWriteDuringAnothersRunStillCounts) {
  std::map<std::string, std::vector<Ack>> all = {{"old", {Ack{7, t0 + 1500ms, t0 + 1500ms}}}, {"new", acks(1000, 2000)}};
  auto keep = present(all);
  keep.erase({"old", 7});
  auto rep = WriteRecorder::analyze_acks(all, keep, t0, t0 + 2s);
  EXPECT_GE(rep.dual_primary_ms, 9);
  EXPECT_EQ(rep.lost, 1);
}

TEST(WriteRecorder, LagLostBeforeAnyOtherNodeWroteIsLossNotSplitBrain) {
  std::map<std::string, std::vector<Ack>> all = {{"old", acks(0, 1000)}, {"new", acks(20000, 21000)}};
  auto keep = present(all);
  keep.erase({"old", all["old"].back().seq});
  auto rep = WriteRecorder::analyze_acks(all, keep, t0, t0 + 21s);
  EXPECT_EQ(rep.dual_primary_ms, 0);
  EXPECT_EQ(rep.lost, 1);
  EXPECT_NEAR(rep.max_unavailable_s, 19.0, 0.02);
  EXPECT_NEAR(rep.unavailable_from_s, 1.0, 0.02);
}

TEST(WriteRecorder, WritesThatStopForGoodAreAGapUntilTheEnd) {
  std::map<std::string, std::vector<Ack>> all = {{"a", acks(0, 1000)}};
  auto rep = WriteRecorder::analyze_acks(all, present(all), t0, t0 + 31s);
  EXPECT_NEAR(rep.max_unavailable_s, 30.0, 0.02);
}

}  // namespace
}  // namespace custos::test
