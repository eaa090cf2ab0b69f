#include "agent/rejoin.h"

#include <spdlog/spdlog.h>

#include "agent/postgres_mapping.h"
#include "common/clock_sleep.h"

namespace custos::agent {

namespace {

struct NewLeader {
  postgres::Upstream upstream;
  // dcs::Leader::checkpoint_after_promote: false while its post-promote CHECKPOINT is pending.
  std::optional<bool> checkpoint_done;
};

// A leader other than us with an address, from the (cached) cluster view.
std::optional<NewLeader> new_leader(dcs::Dcs& dcs, const std::string& me) {
  auto c = dcs.get_cluster();
  if (!c || !c->leader() || c->leader()->name() == me) return std::nullopt;
  auto m = c->get_member(c->leader()->name(), false);
  if (!m) return std::nullopt;
  auto up = upstream_of(*m);
  if (!up) return std::nullopt;
  return NewLeader{*up, c->leader()->checkpoint_after_promote()};
}

}  // namespace

RejoinOutcome rejoin_new_leader(const RejoinRequest& r, postgres::PostgresNode& pg, dcs::Dcs& dcs, Clock& clock,
                                const CancelToken& cancel) {
  RejoinOutcome out;
  const bool check = r.can_rewind || r.reinitialize_on_divergence;
  const MonoTime deadline = clock.now() + r.wait;
  std::optional<postgres::Upstream> leader;
  while (!cancel.cancelled()) {
    const auto found = new_leader(dcs, r.my_name);
    leader = found ? std::optional<postgres::Upstream>(found->upstream) : std::nullopt;
    if (leader) {
      if (!check) break;
      // Unknown while the new leader is still in recovery (promoting): ask again shortly.
      const auto verdict = pg.check_diverged(*leader, std::nullopt);
      if (verdict == postgres::DivergeVerdict::not_needed) {
        out.rewind = ha::RewindState::not_needed;
        break;
      }
      if (verdict == postgres::DivergeVerdict::need_rewind) {
        if (!r.can_rewind) {
          // Only a new base backup helps: the loop reinitializes (ha.md §4).
          out.rewind = ha::RewindState::need;
          out.leader = leader->name;
          return out;
        }
        // pg_rewind reads the source's timeline from its pg_control, which a just promoted
        // server updates with its first checkpoint: rewinding earlier would find "nothing to
        // do" on a diverged node (ha.md §4: wait for checkpoint_after_promote).
        if (found->checkpoint_done == false) {
          if (clock.now() >= deadline) {
            out.rewind = ha::RewindState::need;  // the loop rewinds once the checkpoint is done
            out.leader = leader->name;
            return out;
          }
          sleep_on(clock, std::min(deadline, clock.now() + std::chrono::milliseconds(100)));
          continue;
        }
        spdlog::info("rejoin: rewinding from the new leader {}", leader->name);
        auto rw = pg.rewind(*leader, cancel);
        if (!rw) {
          out.rewind = ha::RewindState::failed;
          out.error = rw.error();
          return out;
        }
        out.rewind = ha::RewindState::success;
        break;
      }
    }
    if (clock.now() >= deadline) {
      spdlog::info("rejoin: no new leader to follow yet; starting as a replica without an upstream");
      leader.reset();
      break;
    }
    sleep_on(clock, std::min(deadline, clock.now() + std::chrono::milliseconds(100)));
  }
  if (cancel.cancelled()) {
    out.error = "cancelled";
    return out;
  }
  if (leader) {
    out.leader = leader->name;
    if (r.slot) {
      while (!cancel.cancelled() && clock.now() < deadline &&
             !pg.upstream_has_slot(*leader, *r.slot, std::chrono::milliseconds(2000))) {
        sleep_on(clock, std::min(deadline, clock.now() + std::chrono::milliseconds(100)));
      }
    }
  }
  auto st = pg.start(true, leader, cancel);
  if (!st) {
    out.error = st.error();
    return out;
  }
  out.started = true;
  // Until it accepts connections the loop would publish it as `starting` for a loop_wait.
  pg.wait_ready(r.ready_wait, cancel);
  return out;
}

}  // namespace custos::agent
