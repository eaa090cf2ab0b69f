// Rejoin: a former primary that has just stopped (graceful demote) becomes a replica of the new
// leader in one pass, inside the same async task: it waits (bounded) for the new leader to run
// as a primary, settles the diverged-timeline question with it (ha.md §4), rewinds when needed
// and possible, and starts PostgreSQL streaming from it. Without this, the check, the rewind and
// the start would take a cycle each.
//
// Thread: the async worker. Blocking: up to `wait` for a new leader, plus the check (a
// connection to the leader), pg_rewind and the start. Errors: returned as text; a leader that
// does not show up in time is not an error (PostgreSQL starts without an upstream and the loop
// points it at the leader later).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/cancel_token.h"
#include "common/clock.h"
#include "dcs/dcs.h"
#include "ha/local_state.h"
#include "postgres/postgres_node.h"

namespace custos::agent {

struct RejoinRequest {
  std::string my_name;
  // Our physical slot on the leader; when set, PostgreSQL starts once the leader has it (the
  // leader creates it in its next cycle; a WAL receiver that finds no slot waits
  // wal_retrieve_retry_interval, 5 s by default, before it tries again).
  std::optional<std::string> slot;
  bool can_rewind = false;                  // pg_rewind may run
  bool reinitialize_on_divergence = false;  // remove_data_directory_on_diverged_timelines
  std::chrono::milliseconds wait{10000};    // for the new leader
  std::chrono::milliseconds ready_wait{10000};  // for the started replica to accept connections
};

struct RejoinOutcome {
  std::optional<std::string> leader;  // the member followed, if one was found
  // The diverged-timeline verdict settled here; nullopt: not settled (the loop checks).
  std::optional<ha::RewindState> rewind;
  bool started = false;  // PostgreSQL was started as a replica
  std::string error;     // empty on success
};

RejoinOutcome rejoin_new_leader(const RejoinRequest& request, postgres::PostgresNode& pg, dcs::Dcs& dcs,
                                Clock& clock, const CancelToken& cancel);

}  // namespace custos::agent
