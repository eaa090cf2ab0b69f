#include "postgres/slots.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <set>
#include <stdexcept>

#include "postgres/lsn.h"

namespace custos::postgres {

namespace fs = std::filesystem;

namespace {

bool same_kind(const ExistingSlot& have, const ExpectedSlot& want) {
  if (have.logical != want.logical) return false;
  return !want.logical || (have.database == want.database && have.plugin == want.plugin);
}

std::string describe(const ExpectedSlot& s) {
  return s.logical ? "logical (database " + s.database + ", plugin " + s.plugin + ")" : "physical";
}

std::string describe(const ExistingSlot& s) {
  return s.logical ? "logical (database " + s.database + ", plugin " + s.plugin + ")" : "physical";
}

// Drops `name` unless a consumer uses it (checked in the same statement); true when dropped.
bool drop_slot(PgConnection& conn, const std::string& name, SlotChanges& out, std::chrono::milliseconds timeout) {
  auto d = conn.query(
      "SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots "
      "WHERE slot_name = $1 AND NOT active",
      {name}, timeout);
  if (!d) {
    out.errors.push_back("cannot drop replication slot '" + name + "': " + d.error().message);
    return false;
  }
  if (d->rows.empty()) return false;  // in use meanwhile
  out.dropped.push_back(name);
  return true;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// bytea in PostgreSQL's hex output format ("\x0a1b...").
std::optional<std::string> decode_bytea_hex(const std::string& text) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) return std::nullopt;
  std::string out;
  out.reserve((text.size() - 2) / 2);
  for (std::size_t i = 2; i < text.size(); i += 2) {
    const int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw std::runtime_error("cannot fsync " + path + ": " + std::strerror(err));
}

}  // namespace

bool slot_is_ignored(const ExistingSlot& slot, const std::vector<SlotIgnoreRule>& rules) {
  const std::string type = slot.logical ? "logical" : "physical";
  for (const auto& r : rules) {
    if (r.name && *r.name != slot.name) continue;
    if (!r.type.empty() && r.type != type) continue;
    if (!r.database.empty() && r.database != slot.database) continue;
    if (!r.plugin.empty() && r.plugin != slot.plugin) continue;
    return true;
  }
  return false;
}

bool is_citus_slot(const ExistingSlot& slot, const std::string& citus_database) {
  if (!slot.logical || citus_database.empty() || slot.database != citus_database) return false;
  static const std::regex move(R"(^citus_shard_move_slot(_[0-9]+){2,3}$)");
  static const std::regex split(R"(^citus_shard_split_slot(_[0-9]+){2,3}$)");
  return (slot.plugin == "pgoutput" && std::regex_match(slot.name, move)) ||
         (slot.plugin == "citus" && std::regex_match(slot.name, split));
}

SlotChanges sync_slots(const DatabaseConnector& connect, const SlotSyncRequest& request,
                       std::chrono::milliseconds timeout) {
  SlotChanges out;
  PgConnection* conn = connect("");
  if (!conn) {
    out.errors.push_back("cannot list replication slots: no connection");
    return out;
  }
  auto r = conn->query(
      "SELECT slot_name, slot_type, database, plugin, active::text, temporary::text, restart_lsn::text, "
      "confirmed_flush_lsn::text FROM pg_catalog.pg_replication_slots",
      {}, timeout);
  if (!r) {
    out.errors.push_back("cannot list replication slots: " + r.error().message);
    return out;
  }
  std::map<std::string, ExistingSlot> have;
  for (const auto& row : r->rows) {
    if (row.size() < 8 || !row[0]) continue;
    ExistingSlot s;
    s.name = *row[0];
    s.logical = row[1] && *row[1] == "logical";
    s.database = row[2].value_or("");
    s.plugin = row[3].value_or("");
    s.active = row[4] && *row[4] == "true";
    s.temporary = row[5] && *row[5] == "true";
    if (row[6]) s.restart_lsn = parse_lsn(*row[6]).value_or(0);
    if (row[7]) s.confirmed_flush_lsn = parse_lsn(*row[7]).value_or(0);
    if (!s.temporary) have.emplace(s.name, std::move(s));
  }
  // Unknown slots go; a slot of the wrong kind goes to be made again.
  for (auto it = have.begin(); it != have.end();) {
    const ExistingSlot& s = it->second;
    auto want = request.expected.find(s.name);
    bool drop = false;
    if (want == request.expected.end()) {
      drop = request.drop_unknown && !s.active && !slot_is_ignored(s, request.ignore) &&
             !(request.primary && is_citus_slot(s, request.citus_database));
    } else if (!same_kind(s, want->second)) {
      if (s.active)
        out.errors.push_back("replication slot '" + s.name + "' should be " + describe(want->second) + " but is " +
                             describe(s) + " and in use: it is replaced once its consumer leaves");
      else
        drop = true;
    }
    if (drop && drop_slot(*conn, s.name, out, timeout)) {
      it = have.erase(it);
      continue;
    }
    ++it;
  }
  for (const auto& [name, want] : request.expected) {
    auto it = have.find(name);
    if (it == have.end()) {
      if (!want.logical) {
        auto c = conn->query("SELECT pg_catalog.pg_create_physical_replication_slot($1, true)", {name}, timeout);
        if (c) out.created.push_back(name);
        else out.errors.push_back("cannot create replication slot '" + name + "': " + c.error().message);
      } else if (request.primary) {
        PgConnection* db = connect(want.database);
        if (!db) {
          out.errors.push_back("cannot create logical replication slot '" + name + "': no connection to database " +
                               want.database);
          continue;
        }
        auto c = db->query("SELECT pg_catalog.pg_create_logical_replication_slot($1, $2)", {name, want.plugin}, timeout);
        if (c) out.created.push_back(name);
        else
          out.errors.push_back("cannot create logical replication slot '" + name + "' plugin='" + want.plugin +
                               "': " + c.error().message);
      } else if (want.lsn > 0) {
        // A replica cannot create a logical slot: it is copied from the primary (only once the
        // primary published its position).
        out.to_copy.push_back(name);
      }
      continue;
    }
    const ExistingSlot& s = it->second;
    // Forward only, and never under a consumer (it moves the slot itself). On a primary the
    // logical slots are the consumers' own.
    if (!request.advance || s.active || want.lsn <= 0 || !same_kind(s, want)) continue;
    if (want.logical && request.primary) continue;
    const int64_t at = want.logical ? s.confirmed_flush_lsn : s.restart_lsn;
    if (at >= want.lsn) continue;
    PgConnection* db = want.logical ? connect(want.database) : conn;
    if (!db) {
      out.errors.push_back("cannot advance replication slot '" + name + "': no connection to database " + want.database);
      continue;
    }
    auto a = db->query("SELECT pg_catalog.pg_replication_slot_advance($1, $2::pg_lsn)", {name, format_lsn(want.lsn)},
                       timeout);
    if (a) {
      out.advanced.emplace_back(name, want.lsn);
      continue;
    }
    out.errors.push_back("cannot advance replication slot '" + name + "': " + a.error().message);
    // The WAL it needs is gone (58P01) or the slot was invalidated (55000): a logical slot of a
    // replica is copied from the primary again (Patroni).
    if (want.logical && !request.primary && (a.error().sqlstate == "58P01" || a.error().sqlstate == "55000") &&
        drop_slot(*conn, name, out, timeout))
      out.to_copy.push_back(name);
  }
  return out;
}

Result<std::map<std::string, int64_t>, PgError> slot_positions(PgConnection& conn, std::chrono::milliseconds timeout) {
  auto r = conn.query(
      "SELECT slot_name, CASE WHEN slot_type = 'physical' THEN restart_lsn ELSE confirmed_flush_lsn END::text "
      "FROM pg_catalog.pg_replication_slots WHERE NOT temporary",
      {}, timeout);
  if (!r) return make_error(r.error());
  std::map<std::string, int64_t> out;
  for (const auto& row : r->rows) {
    if (row.size() < 2 || !row[0] || !row[1]) continue;
    if (auto lsn = parse_lsn(*row[1])) out[*row[0]] = *lsn;
  }
  return out;
}

Result<std::vector<LogicalSlotFile>, PgError> read_logical_slot_files(PgConnection& primary,
                                                                       const std::vector<std::string>& names,
                                                                       std::chrono::milliseconds timeout) {
  std::vector<LogicalSlotFile> out;
  for (const auto& name : names) {
    auto r = primary.query(
        "SELECT slot_name, database, plugin, pg_catalog.pg_read_binary_file('pg_replslot/' || slot_name || '/state'), "
        "restart_lsn::text FROM pg_catalog.pg_replication_slots WHERE NOT pg_catalog.pg_is_in_recovery() "
        "AND slot_type = 'logical' AND slot_name = $1",
        {name}, timeout);
    if (!r) return make_error(r.error());
    for (const auto& row : r->rows) {
      if (row.size() < 5 || !row[0] || !row[3]) continue;
      auto state = decode_bytea_hex(*row[3]);
      if (!state) continue;
      out.push_back(LogicalSlotFile{*row[0], row[1].value_or(""), row[2].value_or(""), std::move(*state),
                                    row[4] ? parse_lsn(*row[4]).value_or(0) : 0});
    }
  }
  return out;
}

Result<int64_t, PgError> wal_segment_size(PgConnection& conn, std::chrono::milliseconds timeout) {
  auto r = conn.query_value("SELECT setting FROM pg_catalog.pg_settings WHERE name = 'wal_segment_size'", {}, timeout);
  if (!r) return make_error(r.error());
  if (!r.value()) return int64_t{0};
  return static_cast<int64_t>(std::strtoll(r.value()->c_str(), nullptr, 10));
}

int64_t oldest_wal_lsn_on_disk(const std::string& data_dir, int64_t segment_size) {
  if (segment_size <= 0) return 0;
  // File names: 8 hex digits of timeline, then the segment as 8 hex digits of "log" (units of
  // 4 GiB) and 8 of segment within it; the oldest on any timeline counts.
  std::string oldest;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(data_dir + "/pg_wal", ec)) {
    const std::string n = e.path().filename().string();
    if (n.size() != 24 || n.find_first_not_of("0123456789ABCDEF") != std::string::npos) continue;
    if (oldest.empty() || n.compare(8, 16, oldest) < 0) oldest = n.substr(8);
  }
  if (oldest.empty()) return 0;
  const uint64_t high = std::stoull(oldest.substr(0, 8), nullptr, 16), low = std::stoull(oldest.substr(8), nullptr, 16);
  const uint64_t per_log = 0x100000000ULL / static_cast<uint64_t>(segment_size);
  return static_cast<int64_t>((high * per_log + low) * static_cast<uint64_t>(segment_size));
}

void install_logical_slot_files(const std::string& data_dir, const std::vector<LogicalSlotFile>& files) {
  const std::string replslot = data_dir + "/pg_replslot";
  for (const auto& f : files) {
    const std::string dir = replslot + "/" + f.name;
    const std::string tmp = dir + ".tmp";
    std::error_code ec;
    fs::remove_all(tmp, ec);
    if (!fs::create_directory(tmp, ec) || ec) throw std::runtime_error("cannot create " + tmp + ": " + ec.message());
    fs::permissions(tmp, fs::perms::owner_all, fs::perm_options::replace, ec);
    const std::string state = tmp + "/state";
    const int fd = ::open(state.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + state + ": " + std::strerror(errno));
    std::size_t done = 0;
    while (done < f.state.size()) {
      const ssize_t n = ::write(fd, f.state.data() + done, f.state.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int err = errno;
        ::close(fd);
        throw std::runtime_error("cannot write " + state + ": " + std::strerror(err));
      }
      done += static_cast<std::size_t>(n);
    }
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) throw std::runtime_error("cannot fsync " + state);
    fsync_path(tmp);
    fs::remove_all(dir, ec);
    fs::rename(tmp, dir);
    fsync_path(dir);
  }
  fsync_path(replslot);
}

}  // namespace custos::postgres
