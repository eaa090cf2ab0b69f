#include "postgres/controldata.h"

#include <charconv>

#include "postgres/lsn.h"
#include "common/process.h"
#include "common/text.h"

namespace custos::postgres {

namespace {
constexpr auto trim = trim_blanks;
}  // namespace

ClusterState parse_cluster_state(std::string_view text) {
  text = trim(text);
  if (text == "starting up") return ClusterState::StartingUp;
  if (text == "shut down") return ClusterState::ShutDown;
  if (text == "shut down in recovery") return ClusterState::ShutDownInRecovery;
  if (text == "shutting down") return ClusterState::ShuttingDown;
  if (text == "in crash recovery") return ClusterState::InCrashRecovery;
  if (text == "in archive recovery") return ClusterState::InArchiveRecovery;
  if (text == "in production") return ClusterState::InProduction;
  return ClusterState::Unknown;
}

ControlData ControlData::parse(std::string_view text) {
  ControlData cd;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto key = trim(line.substr(0, colon));
    if (key.empty()) continue;
    cd.fields_[std::string(key)] = std::string(trim(line.substr(colon + 1)));
  }
  return cd;
}

std::optional<std::string> ControlData::get(const std::string& key) const {
  auto it = fields_.find(key);
  if (it == fields_.end()) return std::nullopt;
  return it->second;
}

std::optional<int64_t> ControlData::get_int(const std::string& key) const {
  auto v = get(key);
  if (!v || v->empty()) return std::nullopt;
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size()) return std::nullopt;
  return out;
}

std::optional<int64_t> ControlData::get_lsn(const std::string& key) const {
  auto v = get(key);
  if (!v) return std::nullopt;
  return parse_lsn(*v);
}

std::optional<std::string> ControlData::system_identifier() const {
  auto v = get("Database system identifier");
  if (!v || v->empty()) return std::nullopt;
  for (char c : *v)
    if (c < '0' || c > '9') return std::nullopt;
  return v;
}

std::string ControlData::cluster_state_text() const { return get("Database cluster state").value_or(""); }
ClusterState ControlData::cluster_state() const { return parse_cluster_state(cluster_state_text()); }
std::optional<int64_t> ControlData::pg_control_version() const { return get_int("pg_control version number"); }
std::optional<int64_t> ControlData::checkpoint_lsn() const { return get_lsn("Latest checkpoint location"); }
std::optional<int64_t> ControlData::checkpoint_redo_lsn() const { return get_lsn("Latest checkpoint's REDO location"); }
std::optional<int64_t> ControlData::checkpoint_timeline() const { return get_int("Latest checkpoint's TimeLineID"); }
std::optional<int64_t> ControlData::checkpoint_prev_timeline() const {
  return get_int("Latest checkpoint's PrevTimeLineID");
}
std::optional<int64_t> ControlData::min_recovery_lsn() const { return get_lsn("Minimum recovery ending location"); }
std::optional<int64_t> ControlData::min_recovery_timeline() const {
  return get_int("Min recovery ending loc's timeline");
}
std::optional<int64_t> ControlData::max_connections() const { return get_int("max_connections setting"); }
std::optional<int64_t> ControlData::max_worker_processes() const { return get_int("max_worker_processes setting"); }
std::optional<int64_t> ControlData::max_wal_senders() const { return get_int("max_wal_senders setting"); }
std::optional<int64_t> ControlData::max_prepared_xacts() const { return get_int("max_prepared_xacts setting"); }
std::optional<int64_t> ControlData::max_locks_per_xact() const { return get_int("max_locks_per_xact setting"); }
std::optional<std::string> ControlData::wal_level() const { return get("wal_level setting"); }
bool ControlData::wal_log_hints() const { return get("wal_log_hints setting").value_or("") == "on"; }
bool ControlData::data_checksums() const {
  auto v = get_int("Data page checksum version");
  return v && *v != 0;
}
std::optional<int64_t> ControlData::wal_segment_size() const { return get_int("Bytes per WAL segment"); }

Result<ControlData, std::string> read_controldata(const std::string& pg_controldata_bin, const std::string& data_dir,
                                                  std::chrono::milliseconds timeout, ProcessRunner& runner) {
  RunOptions opts;
  opts.timeout = timeout;
  opts.env = {{"LANG", "C"}, {"LC_ALL", "C"}};
  auto r = runner.run({pg_controldata_bin, "-D", data_dir}, opts);
  if (!r) return make_error(r.error());
  if (!r->success()) return make_error(pg_controldata_bin + " " + r->describe() + ": " + r->err);
  auto cd = ControlData::parse(r->out);
  if (cd.empty()) return make_error(std::string("pg_controldata printed nothing parsable"));
  return cd;
}

}  // namespace custos::postgres
