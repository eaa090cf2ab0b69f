// WriteRecorder: the checker of the resilience and fault tests (issue 12). One writer thread per
// node commits small rows into `custos_acks` as fast as the node takes them (autocommit, one row
// per statement, each statement bounded) and records every acknowledged commit with the moment
// the acknowledgement arrived (steady clock). Afterwards analyze() says what matters to a user:
//   - dual-primary time: how long one node acknowledged writes that the cluster later lost
//     while another node also acknowledged writes (split brain: two histories, one discarded).
//     Each acknowledgement covers kAckWidth before it arrived; a node's acknowledgements closer
//     than kRunGap join into a run. Acknowledgements that all reached the final primary form
//     one linear history and never count, whatever their timing against the next primary's;
//   - lost commits: acknowledged rows missing from the final primary,
//   - write unavailability: the longest stretch with no acknowledged write on any node, from
//     start() to stop().
//
// Thread: start/stop/analyze from the test thread; the writers are its own threads. Writers
// reconnect after every failure (1 s connect timeout) and never stop on errors.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace custos::test {

class WriteRecorder {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  // A gap longer than this ends a node's run of acknowledged writes.
  static constexpr std::chrono::milliseconds kRunGap{250};
  // The time each acknowledgement covers (a single lost write still counts).
  static constexpr std::chrono::milliseconds kAckWidth{10};

  struct Target {
    std::string name;      // the node
    std::string conninfo;  // how its clients reach it
  };
  struct Ack {
    int64_t seq = 0;
    SteadyTime sent;  // the statement was sent
    SteadyTime at;    // its acknowledgement arrived
  };
  struct Report {
    double dual_primary_ms = 0;
    // Acknowledged (writer, seq) pairs not found on the final primary.
    int64_t lost = 0;
    int64_t acknowledged = 0;
    // Longest stretch without any acknowledged write, in seconds, and when it began (seconds
    // after start()).
    double max_unavailable_s = 0;
    double unavailable_from_s = 0;
    // Per node: how many writes it acknowledged.
    std::map<std::string, int64_t> per_node;
    std::string to_string() const;
  };

  explicit WriteRecorder(std::vector<Target> targets);
  ~WriteRecorder();
  WriteRecorder(const WriteRecorder&) = delete;
  WriteRecorder& operator=(const WriteRecorder&) = delete;

  // Creates custos_acks on the primary (idempotent); throws when it cannot.
  static void create_table(const std::string& primary_conninfo);
  void start();
  void stop();
  std::map<std::string, std::vector<Ack>> acks() const;
  // `present`: the (writer, seq) pairs found on the final primary (read_rows()).
  Report analyze(const std::set<std::pair<std::string, int64_t>>& present) const;
  // The same over given acknowledgements (pure; tests of the checker itself).
  static Report analyze_acks(const std::map<std::string, std::vector<Ack>>& acks,
                             const std::set<std::pair<std::string, int64_t>>& present, SteadyTime started,
                             SteadyTime stopped);
  // Every (writer, seq) in custos_acks of the node at `conninfo`; throws when it cannot read.
  static std::set<std::pair<std::string, int64_t>> read_rows(const std::string& conninfo);

 private:
  void run(std::size_t index);

  std::vector<Target> targets_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  SteadyTime started_{};
  SteadyTime stopped_{};
  mutable std::mutex mu_;
  std::map<std::string, std::vector<Ack>> acks_;
};

}  // namespace custos::test
