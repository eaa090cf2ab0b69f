#include "write_recorder.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <stdexcept>

#include "postgres/pg_connection.h"

namespace custos::test {

using namespace std::chrono_literals;

namespace {

// A commit is waited for up to 30 s: a shorter timeout would cancel commits that wait for a
// synchronous standby, and PostgreSQL reports such a cancelled commit as a success (committed
// locally, perhaps not replicated): the writer would count acknowledgements no real client that
// waits gets.
constexpr auto kCommitTimeout = 30000ms;

postgres::ConnectionOptions writer_options() {
  postgres::ConnectionOptions o;
  o.connect_timeout = 1000ms;
  o.query_timeout = kCommitTimeout;
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
  if (threads_.empty()) return;
  stop_ = true;
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  stopped_ = std::chrono::steady_clock::now();
}

void WriteRecorder::run(std::size_t index) {
  const Target& t = targets_[index];
  int64_t seq = 0;
  std::unique_ptr<postgres::PgConnection> conn;
  while (!stop_) {
    if (!conn) conn = std::make_unique<postgres::PgConnection>(t.conninfo, writer_options());
    const int64_t next = seq + 1;
    const auto sent = std::chrono::steady_clock::now();
    auto r = conn->query("INSERT INTO custos_acks (writer, seq) VALUES ($1, $2)", {t.name, std::to_string(next)},
                         kCommitTimeout);
    const auto at = std::chrono::steady_clock::now();
    if (r) {
      seq = next;
      std::lock_guard lk(mu_);
      acks_[t.name].push_back(Ack{seq, sent, at});
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

namespace {

using Span = std::pair<WriteRecorder::SteadyTime, WriteRecorder::SteadyTime>;

// Acknowledgements joined into runs: each covers [at - kAckWidth, at]; runs closer than kRunGap
// join.
std::vector<Span> runs_of(const std::vector<WriteRecorder::SteadyTime>& acks) {
  std::vector<Span> out;
  for (const auto& at : acks) {
    const auto begin = at - WriteRecorder::kAckWidth;
    if (!out.empty() && begin - out.back().second <= WriteRecorder::kRunGap)
      out.back().second = std::max(out.back().second, at);
    else
      out.push_back({begin, at});
  }
  return out;
}

// The union of spans, sorted and merged.
std::vector<Span> merged(std::vector<Span> spans) {
  std::sort(spans.begin(), spans.end());
  std::vector<Span> out;
  for (const auto& s : spans) {
    if (!out.empty() && s.first <= out.back().second) out.back().second = std::max(out.back().second, s.second);
    else out.push_back(s);
  }
  return out;
}

std::vector<Span> intersect(const std::vector<Span>& a, const std::vector<Span>& b) {
  std::vector<Span> out;
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const auto lo = std::max(a[i].first, b[j].first), hi = std::min(a[i].second, b[j].second);
    if (lo < hi) out.push_back({lo, hi});
    (a[i].second < b[j].second) ? ++i : ++j;
  }
  return out;
}

}  // namespace

WriteRecorder::Report WriteRecorder::analyze(const std::set<std::pair<std::string, int64_t>>& present) const {
  return analyze_acks(acks(), present, started_, stopped_ != SteadyTime{} ? stopped_ : std::chrono::steady_clock::now());
}

WriteRecorder::Report WriteRecorder::analyze_acks(const std::map<std::string, std::vector<Ack>>& all,
                                                  const std::set<std::pair<std::string, int64_t>>& present,
                                                  SteadyTime started, SteadyTime stopped) {
  Report rep;
  // Per node: the runs of all its acknowledgements, and of those the cluster lost.
  std::map<std::string, std::vector<Span>> runs_all, runs_lost;
  std::vector<SteadyTime> every;
  for (const auto& [node, list] : all) {
    rep.per_node[node] = static_cast<int64_t>(list.size());
    rep.acknowledged += static_cast<int64_t>(list.size());
    std::vector<SteadyTime> at_all, at_lost;
    for (const auto& a : list) {
      every.push_back(a.at);
      at_all.push_back(a.at);
      if (!present.count({node, a.seq})) {
        ++rep.lost;
        at_lost.push_back(a.at);
      }
    }
    runs_all[node] = runs_of(at_all);
    runs_lost[node] = runs_of(at_lost);
  }
  // Two primaries: a node acknowledged writes the cluster later lost while another node also
  // acknowledged writes. (Acknowledgements of one node that all made it into the final history
  // are one linear history, whatever their timing against the next primary's first writes.)
  std::vector<Span> dual;
  for (const auto& [node, lost] : runs_lost) {
    std::vector<Span> others;
    for (const auto& [other, runs] : runs_all)
      if (other != node) others.insert(others.end(), runs.begin(), runs.end());
    for (const auto& s : intersect(lost, merged(others))) dual.push_back(s);
  }
  for (const auto& s : merged(dual)) rep.dual_primary_ms += std::chrono::duration<double, std::milli>(s.second - s.first).count();
  std::sort(every.begin(), every.end());
  // Until stop(): writes that stopped and never came back are a gap too.
  every.push_back(stopped);
  SteadyTime prev = started;
  for (const auto& at : every) {
    const double gap = std::chrono::duration<double>(at - prev).count();
    if (gap > rep.max_unavailable_s) {
      rep.max_unavailable_s = gap;
      rep.unavailable_from_s = std::chrono::duration<double>(prev - started).count();
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
