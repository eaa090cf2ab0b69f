// Removing and moving aside a PostgreSQL data directory together with what lives outside it, as
// Patroni does: the WAL directory when pg_wal (pg_xlog before 10) is a symlink to another
// volume (initdb/pg_basebackup --waldir), and the directories of user tablespaces (the symlinks
// in pg_tblspc). Left behind, a non-empty WAL or tablespace directory makes the next initdb or
// pg_basebackup into the same place fail ("exists but is not empty").
//
// Thread: any; the caller makes sure no postmaster uses the directory. Blocking: filesystem
// only. Errors: typed results; nothing thrown.
#pragma once

#include <string>
#include <vector>

#include "common/result.h"

namespace custos::postgres {

// What of a data directory lives elsewhere: symlinks inside it and the directories they name.
struct ExternalDirectory {
  std::string link;    // the symlink inside the data directory (…/pg_wal, …/pg_tblspc/<oid>)
  std::string target;  // its canonical target
  bool is_wal = false;
};

// The WAL directory (when pg_wal or pg_xlog is a symlink) and the target of every tablespace
// link (pg_tblspc/<oid>) that exists, each once. Targets that would take the data directory
// itself, one of its parents or '/' with them are left out (and logged): removing those would
// remove far more than PostgreSQL's.
std::vector<ExternalDirectory> external_directories(const std::string& data_dir);

// Patroni's remove_data_directory: a symlink at `data_dir` is unlinked (its target stays), a
// file removed; a directory is removed with the WAL and tablespace directories it links to (a
// directory that is emptied but cannot go, a mount point, counts as removed). Nothing there is
// success. Logs "Removing data directory: <dir>" and a line per external one.
Status<std::string> remove_data_directory(const std::string& data_dir);

// Renames `data_dir` to <data_dir>.<suffix>, then each WAL or tablespace directory it links to
// to <target>.<suffix>, re-pointing the link inside the moved directory (Patroni's
// move_data_directory); a name already taken gets .1, .2, ... appended. Never deletes. Returns
// the data directory's new path; an error (nothing moved) when the data directory cannot be
// renamed. An external directory that cannot be moved is logged and stays where it is.
Result<std::string, std::string> move_data_directory_aside(const std::string& data_dir, const std::string& suffix);

}  // namespace custos::postgres
