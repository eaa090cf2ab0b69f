#include "postgres/data_directory.h"

#include <filesystem>
#include <system_error>

#include <spdlog/spdlog.h>

namespace custos::postgres {

namespace fs = std::filesystem;

namespace {

std::string without_trailing_slashes(std::string d) {
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return d;
}

// `inner` is `outer` or below it (lexically, both canonical).
bool within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // a trailing separator
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
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
  out.push_back(ExternalDirectory{link.string(), target.string(), is_wal});
}

}  // namespace

std::vector<ExternalDirectory> external_directories(const std::string& data_dir) {
  std::vector<ExternalDirectory> out;
  std::error_code ec;
  const fs::path dir(without_trailing_slashes(data_dir));
  if (!fs::is_directory(fs::symlink_status(dir, ec))) return out;
  const fs::path canonical_dir = fs::canonical(dir, ec);
  if (ec) return out;
  for (const char* wal : {"pg_wal", "pg_xlog"}) add_if_linked(dir / wal, true, canonical_dir, out);
  const fs::path tablespaces = dir / "pg_tblspc";
  if (fs::is_directory(tablespaces, ec))
    for (fs::directory_iterator it(tablespaces, ec), end; !ec && it != end; it.increment(ec))
      add_if_linked(it->path(), false, canonical_dir, out);
  return out;
}

Status<std::string> remove_data_directory(const std::string& data_dir) {
  const std::string d = without_trailing_slashes(data_dir);
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(d, ec);
  if (!fs::exists(st)) return Unit{};
  spdlog::info("Removing data directory: {}", d);
  if (!fs::is_directory(st)) {
    // A symlink (its target is not ours to delete) or a file.
    if (!fs::remove(d, ec)) return make_error("cannot remove " + d + ": " + ec.message());
    return Unit{};
  }
  std::string errors;
  auto note = [&](const std::string& what) { errors += (errors.empty() ? "" : "; ") + what; };
  for (const auto& ext : external_directories(d)) {
    spdlog::info("Removing {} directory: {}", ext.is_wal ? "WAL" : "user defined tablespace", ext.target);
    fs::remove_all(ext.target, ec);
    if (ec) note("cannot remove " + ext.target + ": " + ec.message());
  }
  fs::remove_all(d, ec);
  if (ec) {
    // A mount point cannot go itself; emptied, it is as good as gone for initdb and pg_basebackup.
    std::error_code left;
    if (!(fs::is_directory(d, left) && fs::is_empty(d, left))) note("cannot remove " + d + ": " + ec.message());
  }
  if (!errors.empty()) return make_error(errors);
  return Unit{};
}

Result<std::string, std::string> move_data_directory_aside(const std::string& data_dir, const std::string& suffix) {
  const std::string d = without_trailing_slashes(data_dir);
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(d, ec))) return make_error("there is no data directory " + d);
  for (const auto& ext : external_directories(d)) {
    const std::string moved = free_name(ext.target, suffix);
    spdlog::info("renaming {} directory {} to {} and updating the symlink",
                 ext.is_wal ? "WAL" : "user defined tablespace", ext.target, moved);
    fs::rename(ext.target, moved, ec);
    if (ec) return make_error("cannot rename " + ext.target + " to " + moved + ": " + ec.message());
    fs::remove(ext.link, ec);
    if (!ec) fs::create_directory_symlink(moved, ext.link, ec);
    if (ec) return make_error("cannot point " + ext.link + " to " + moved + ": " + ec.message());
  }
  const std::string target = free_name(d, suffix);
  fs::rename(d, target, ec);
  if (ec) return make_error("cannot rename " + d + " to " + target + ": " + ec.message());
  spdlog::warn("moved the data directory {} aside to {}", d, target);
  return target;
}

}  // namespace custos::postgres
