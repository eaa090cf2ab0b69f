#include "write_recorder.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "postgres/pg_connection.h"

namespace custos::test {

using namespace std::chrono_literals;

namespace {

postgres::ConnectionOptions writer_options() {
  postgres::ConnectionOptions o;
  o.connect_timeout = 1000ms;
  o.query_timeout = 2000ms;
  o.application_name = "custos-write-recorder";
  return o;
}

}  // namespace

std::string WriteRecorder::Report::to_string() const {
  char buf[256];
  std::snprintf(buf, sizeof buf, "acknowledged %lld, lost %lld, dual-primary %.0f ms, longest without writes %.2f s",
                static_cast<long long>(acknowledged), static_cast<long long>(lost), dual_primary_ms,
                max_unavailable_s);
  std::string out = buf;
  for (const auto& [n, c] : per_node) out += "; " + n + ": " + std::to_string(c);
  return out;
}

WriteRecorder::WriteRecorder(std::vector<Target> targets) : targets_(std::move(targets)) {}

WriteRecorder::~WriteRecorder() { stop(); }

void WriteRecorder::create_table(const std::string& primary_conninfo) {
  postgres::PgConnection c(primary_conninfo, writer_options());
  auto r = c.query("CREATE TABLE IF NOT EXISTS custos_acks (writer text NOT NULL, seq bigint NOT NULL, "
                   "at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (writer, seq))",
                   {}, 10s);
  if (!r) throw std::runtime_error("cannot create custos_acks: " + r.error().message);
}

void WriteRecorder::start() {
  stop_ = false;
  started_ = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < targets_.size(); ++i) threads_.emplace_back([this, i] { run(i); });
}

void WriteRecorder::stop() {
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

void WriteRecorder::run(std::size_t index) {
  const Target& t = targets_[index];
  int64_t seq = 0;
  std::unique_ptr<postgres::PgConnection> conn;
  while (!stop_) {
    if (!conn) conn = std::make_unique<postgres::PgConnection>(t.conninfo, writer_options());
    const int64_t next = seq + 1;
    auto r = conn->query("INSERT INTO custos_acks (writer, seq) VALUES ($1, $2)", {t.name, std::to_string(next)}, 2000ms);
    const auto at = std::chrono::steady_clock::now();
    if (r) {
      seq = next;
      std::lock_guard lk(mu_);
      acks_[t.name].push_back(Ack{seq, at});
      continue;
    }
    // Not acknowledged (refused, read-only, timed out, connection lost). A statement that
    // timed out may still commit later: the next attempt uses a new number, so that a late
    // commit never counts for an acknowledged one.
    seq = next;
    conn.reset();
    std::this_thread::sleep_for(20ms);
  }
}

std::map<std::string, std::vector<WriteRecorder::Ack>> WriteRecorder::acks() const {
  std::lock_guard lk(mu_);
  return acks_;
}

WriteRecorder::Report WriteRecorder::analyze(const std::set<std::pair<std::string, int64_t>>& present) const {
  Report rep;
  const auto all = acks();
  // Runs of each node: [first, last] with no gap above kRunGap.
  std::vector<std::pair<SteadyTime, int>> edges;  // +1 at a run's start, -1 at its end
  std::vector<SteadyTime> every;
  for (const auto& [node, list] : all) {
    rep.per_node[node] = static_cast<int64_t>(list.size());
    rep.acknowledged += static_cast<int64_t>(list.size());
    for (const auto& a : list) {
      every.push_back(a.at);
      if (!present.count({node, a.seq})) ++rep.lost;
    }
    std::size_t i = 0;
    while (i < list.size()) {
      std::size_t j = i;
      while (j + 1 < list.size() && list[j + 1].at - list[j].at <= kRunGap) ++j;
      edges.push_back({list[i].at, +1});
      edges.push_back({list[j].at, -1});
      i = j + 1;
    }
  }
  // Time covered by two or more runs at once. Ends sort before starts at the same instant.
  std::sort(edges.begin(), edges.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : a.second < b.second;
  });
  int open = 0;
  SteadyTime since{};
  for (const auto& [at, delta] : edges) {
    if (open >= 2) rep.dual_primary_ms += std::chrono::duration<double, std::milli>(at - since).count();
    open += delta;
    since = at;
  }
  std::sort(every.begin(), every.end());
  SteadyTime prev = started_;
  for (const auto& at : every) {
    const double gap = std::chrono::duration<double>(at - prev).count();
    if (gap > rep.max_unavailable_s) {
      rep.max_unavailable_s = gap;
      rep.unavailable_from_s = std::chrono::duration<double>(prev - started_).count();
    }
    prev = at;
  }
  return rep;
}

std::set<std::pair<std::string, int64_t>> WriteRecorder::read_rows(const std::string& conninfo) {
  postgres::PgConnection c(conninfo, writer_options());
  auto r = c.query("SELECT writer, seq FROM custos_acks", {}, 30s);
  if (!r) throw std::runtime_error("cannot read custos_acks: " + r.error().message);
  std::set<std::pair<std::string, int64_t>> out;
  for (const auto& row : r.value().rows)
    if (row.size() == 2 && row[0] && row[1]) out.insert({*row[0], std::stoll(*row[1])});
  return out;
}

}  // namespace custos::test
