#include "postgres/data_directory.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <system_error>

#include <spdlog/spdlog.h>

namespace custos::postgres {

namespace fs = std::filesystem;

namespace {

std::string without_trailing_slashes(std::string d) {
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return d;
}

// `inner` is `outer` or below it (element by element, both canonical).
bool within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i)
    if (i == inner.end() || *i != *o) return false;
  return true;
}

bool all_digits(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isdigit(c); });
}

// What is at `path` (a symlink itself, not its target); nullopt when it cannot be told (the
// error in `why`). A missing path is file_type::not_found.
std::optional<fs::file_status> look_at(const fs::path& path, std::string* why) {
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
    if (why) *why = "cannot look at " + path.string() + ": " + ec.message();
    return std::nullopt;
  }
  return st;
}

// Gone, or an empty directory (a mount point cannot be removed itself; emptied, it is as good as
// gone for initdb and pg_basebackup).
bool gone_or_emptied(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path, ec))) return !ec || ec == std::errc::no_such_file_or_directory;
  return fs::is_directory(path, ec) && fs::is_empty(path, ec) && !ec;
}

// <base>.<suffix>, or with .1, .2, ... when that name is taken.
std::string free_name(const std::string& base, const std::string& suffix) {
  std::string name = base + "." + suffix;
  std::error_code ec;
  for (int i = 1; fs::exists(fs::symlink_status(name, ec)); ++i) name = base + "." + suffix + "." + std::to_string(i);
  return name;
}

void add_if_linked(const fs::path& link, bool is_wal, const fs::path& data_dir, std::vector<ExternalDirectory>& out) {
  std::error_code ec;
  if (!fs::is_symlink(fs::symlink_status(link, ec))) return;
  const fs::path target = fs::canonical(link, ec);
  if (ec || !fs::is_directory(target, ec)) return;  // dangling, or not a directory: nothing to take along
  if (target == target.root_path() || within(data_dir, target) || within(target, data_dir)) {
    spdlog::warn("leaving {} alone ({} links to it): it holds the data directory or lies inside it", target.string(),
                 link.string());
    return;
  }
  for (const auto& e : out)
    if (e.target == target.string()) return;  // a second link to it (pg_xlog -> pg_wal)
  out.push_back(ExternalDirectory{link.string(), target.string(), is_wal});
}

// Points the symlink `link` at `target`: a new link under a temporary name renamed over the old
// one, so that `link` never goes missing.
std::error_code repoint(const std::string& link, const std::string& target) {
  std::error_code ec;
  const std::string tmp = link + ".custos-new";
  fs::remove(tmp, ec);
  fs::create_directory_symlink(target, tmp, ec);
  if (!ec) fs::rename(tmp, link, ec);
  return ec;
}

}  // namespace

std::vector<ExternalDirectory> external_directories(const std::string& data_dir) {
  std::vector<ExternalDirectory> out;
  std::error_code ec;
  const fs::path dir(without_trailing_slashes(data_dir));
  if (!fs::is_directory(dir, ec)) return out;  // a symlinked data directory is followed, as Patroni's isdir
  const fs::path canonical_dir = fs::canonical(dir, ec);
  if (ec) return out;
  for (const char* wal : {"pg_wal", "pg_xlog"}) add_if_linked(dir / wal, true, canonical_dir, out);
  // PostgreSQL names its tablespace links by OID; anything else there is not its.
  const fs::path tablespaces = dir / "pg_tblspc";
  if (fs::is_directory(tablespaces, ec))
    for (fs::directory_iterator it(tablespaces, ec), end; !ec && it != end; it.increment(ec))
      if (all_digits(it->path().filename().string())) add_if_linked(it->path(), false, canonical_dir, out);
  return out;
}

Status<std::string> remove_data_directory(const std::string& data_dir) {
  const std::string d = without_trailing_slashes(data_dir);
  std::string why;
  const auto st = look_at(d, &why);
  if (!st) return make_error(why);
  if (!fs::exists(*st)) return Unit{};
  spdlog::info("Removing data directory: {}", d);
  std::error_code ec;
  if (!fs::is_directory(*st)) {
    // A symlink (its target is not ours to delete) or a file.
    if (!fs::remove(d, ec)) return make_error("cannot remove " + d + ": " + ec.message());
    return Unit{};
  }
  std::string errors;
  auto note = [&](const std::string& what) { errors += (errors.empty() ? "" : "; ") + what; };
  for (const auto& ext : external_directories(d)) {
    spdlog::info("Removing {} directory: {}", ext.is_wal ? "WAL" : "user defined tablespace", ext.target);
    fs::remove_all(ext.target, ec);
    if (ec && !gone_or_emptied(ext.target)) note("cannot remove " + ext.target + ": " + ec.message());
  }
  fs::remove_all(d, ec);
  if (ec && !gone_or_emptied(d)) note("cannot remove " + d + ": " + ec.message());
  if (!errors.empty()) return make_error(errors);
  return Unit{};
}

Result<std::string, std::string> move_data_directory_aside(const std::string& data_dir, const std::string& suffix) {
  const std::string d = without_trailing_slashes(data_dir);
  std::string why;
  const auto st = look_at(d, &why);
  if (!st) return make_error(why);
  if (!fs::exists(*st)) return make_error("there is no data directory " + d);
  // Found before the move (their links are inside it), moved after it: a data directory that
  // cannot be moved (a mount point) leaves everything as it was.
  const auto externals = external_directories(d);
  const std::string target = free_name(d, suffix);
  std::error_code ec;
  fs::rename(d, target, ec);
  if (ec) return make_error("cannot rename " + d + " to " + target + ": " + ec.message());
  spdlog::warn("moved the data directory {} aside to {}", d, target);
  for (const auto& ext : externals) {
    const char* what = ext.is_wal ? "WAL" : "user defined tablespace";
    const std::string moved = free_name(ext.target, suffix);
    fs::rename(ext.target, moved, ec);
    if (ec) {
      // The next initdb or pg_basebackup into that place will say so; the data directory is
      // aside already, and its link still names the directory where it is.
      spdlog::error("could not move the {} directory {} aside to {}: {}", what, ext.target, moved, ec.message());
      continue;
    }
    const std::string link = target + ext.link.substr(d.size());
    if (auto err = repoint(link, moved)) {
      spdlog::error("moved the {} directory {} aside to {}, but {} still names the old place: {}", what, ext.target,
                    moved, link, err.message());
      continue;
    }
    spdlog::info("moved the {} directory {} aside to {} ({} updated)", what, ext.target, moved, link);
  }
  return target;
}

}  // namespace custos::postgres
