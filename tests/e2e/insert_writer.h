// InsertWriter: a client that inserts rows one statement at a time on one connection (ids 1, 2,
// ... as $1 of `insert_sql`), every 10 ms until stopped, counting the statements that succeeded
// and failed and the longest time one statement took. The end-to-end tests run it through
// switchovers to prove that no acknowledged write is lost and none fails.
//
// Thread: its own (made by the constructor, joined by stop() or the destructor); the counters
// can be read from any thread.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

#include "postgres/pg_connection.h"
#include "test_cluster.h"

namespace custos::e2e {

class InsertWriter {
 public:
  InsertWriter(std::string conninfo, std::string insert_sql)
      : conninfo_(std::move(conninfo)), sql_(std::move(insert_sql)) {
    thread_ = std::thread([this] { run(); });
  }
  ~InsertWriter() { stop(); }
  InsertWriter(const InsertWriter&) = delete;
  InsertWriter& operator=(const InsertWriter&) = delete;

  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t ok() const { return ok_; }
  int64_t failed() const { return failed_; }
  double longest_wait() const { return longest_; }
  std::string first_error() {
    std::lock_guard l(mu_);
    return first_error_;
  }

 private:
  void run() {
    postgres::ConnectionOptions o;
    o.query_timeout = std::chrono::seconds(60);
    postgres::PgConnection conn(conninfo_, o);
    for (int64_t id = 1; !stop_; ++id) {
      const auto t0 = Clock::now();
      auto r = conn.query(sql_, {std::to_string(id)});
      longest_ = std::max(longest_.load(), seconds_since(t0));
      if (r) {
        ++ok_;
      } else {
        ++failed_;
        std::lock_guard l(mu_);
        if (first_error_.empty()) first_error_ = r.error().message;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  const std::string conninfo_;
  const std::string sql_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> ok_{0}, failed_{0};
  std::atomic<double> longest_{0};
  std::mutex mu_;
  std::string first_error_;
};

}  // namespace custos::e2e
