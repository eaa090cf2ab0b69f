#include "agent/operations.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "agent/state_mapping.h"
#include "config/global_config.h"
#include "config/validate.h"
#include "mpp/citus_coordinator.h"

namespace custos::agent {

using namespace std::chrono_literals;
using api::Request;
using api::Response;
using nlohmann::json;

namespace {

bool cluster_paused(const dcs::Cluster& c) {
  return config::GlobalConfig(c.config() ? c.config()->data() : json::object()).is_paused();
}

template <typename T>
T take(std::variant<T, Response>& v) {
  return std::get<T>(std::move(v));
}

constexpr auto kLoopAnswerTimeout = 30s;

Response loop_did_not_answer() { return Response::text(503, "the HA loop did not answer in time"); }

}  // namespace

// ---- /switchover, /failover ---------------------------------------------------------------------

std::optional<std::string> AgentOperations::switchover_infeasible(const dcs::Cluster& c,
                                                                  const api::SwitchoverRequest& r) {
  const std::string action = r.switchover ? "switchover" : "failover";
  if (r.leader && (!c.leader_name() || *c.leader_name() != *r.leader)) return std::string("leader name does not match");
  std::vector<const dcs::Member*> candidates;
  // The /sync checks of synchronous mode; quorum mode (Patroni 4) takes any member, the new
  // leader then has to win the quorum vote.
  const auto& ha = settings_.current()->ha;
  const bool sync_mode = ha.is_synchronous_mode() && !ha.is_quorum_commit_mode();
  if (r.candidate) {
    if (r.switchover && sync_mode && !c.sync().matches(*r.candidate))
      return std::string("candidate name does not match with sync_standby");
    for (const auto& m : c.members())
      if (m.name() == *r.candidate) candidates.push_back(&m);
    if (candidates.empty()) return std::string("candidate does not exists");
  } else if (sync_mode) {
    for (const auto& m : c.members())
      if (c.sync().matches(m.name())) candidates.push_back(&m);
    if (candidates.empty()) return action + " is not possible: can not find sync_standby";
  } else {
    for (const auto& m : c.members())
      if ((!c.leader_name() || m.name() != *c.leader_name()) && m.api_url()) candidates.push_back(&m);
    if (candidates.empty()) return action + " is not possible: cluster does not have members except leader";
  }
  std::map<std::string, std::string> urls;
  for (const auto* m : candidates)
    if (m->api_url()) urls[m->name()] = *m->api_url();
  std::string reasons;
  bool ok = false;
  for (const auto& st : services_.members.query(urls)) {
    if (auto why = st.failover_limitation()) reasons += (reasons.empty() ? "" : ", ") + st.name + ": " + *why;
    else ok = true;
  }
  if (ok) return std::nullopt;
  return action + " is not possible: no good candidates have been found" + (reasons.empty() ? "" : " (" + reasons + ")");
}

Response AgentOperations::switchover(const Request& req, bool failover_endpoint) {
  auto body = api::read_json_body(req, false, true);
  if (auto* resp = std::get_if<Response>(&body)) return *resp;
  auto loaded = services_.dcs.get_cluster_fresh();
  if (!loaded) return Response::text(503, "DCS is not accessible: " + loaded.error().describe());
  const dcs::Cluster cluster = loaded.value();
  auto parsed = api::parse_switchover_request(std::get<json>(body), failover_endpoint, cluster_paused(cluster),
                                              services_.clock.wall_seconds());
  if (auto* resp = std::get_if<Response>(&parsed)) return *resp;
  const api::SwitchoverRequest r = take(parsed);
  const std::string action = r.switchover ? "switchover" : "failover";
  spdlog::info("received {} request with leader={} candidate={} scheduled_at={}", action, r.leader.value_or("None"),
               r.candidate.value_or("None"), r.scheduled_at ? r.scheduled_at_text : "None");
  if (!r.scheduled_at) {
    if (auto why = switchover_infeasible(cluster, r)) return Response::text(412, *why);
  }
  auto written = services_.dcs.set_failover_value(api::failover_key_value(r).dump(), std::nullopt);
  if (!written) return Response::text(503, "failed to write " + action + " key into DCS");
  agent_.wake_ha_loop();
  if (r.scheduled_at) return Response::text(202, r.action() + " scheduled");
  return wait_for_switchover(cluster.leader_name(), r);
}

Response AgentOperations::wait_for_switchover(const std::optional<std::string>& old_leader,
                                              const api::SwitchoverRequest& r) {
  const std::string verb = r.switchover ? "switched" : "failed";
  const std::string verb_title = r.switchover ? "Switched" : "Failed";
  const auto s = settings_.current();
  // Patroni waits 2 x max(10, loop_wait) s; while the hand-over is visibly progressing (the lock
  // was released) we wait up to a ttl more instead of answering "status unknown".
  const double base = 2.0 * std::max(10.0, s->ha.loop_wait);
  const MonoTime started = services_.clock.now();
  auto waited = [&] { return std::chrono::duration<double>(services_.clock.now() - started).count(); };
  std::string phase = "the request was written; " + old_leader.value_or("nobody") + " still holds the leader lock";
  bool extended = false;
  while (true) {
    std::this_thread::sleep_for(100ms);
    if (agent_.stopping()) return Response::text(503, r.action() + " not confirmed: the agent is shutting down");
    auto loaded = services_.dcs.get_cluster();  // the watch cache: cheap, milliseconds behind
    if (loaded) {
      const dcs::Cluster& c = loaded.value();
      const auto leader = c.leader_name();
      if (leader && leader != old_leader) {
        if (!r.candidate || *r.candidate == *leader)
          return Response::text(200, "Successfully " + verb + " over to \"" + *leader + "\"");
        return Response::text(200, verb_title + " over to \"" + *leader + "\" instead of \"" + *r.candidate + "\"");
      }
      const bool key_gone = !c.failover() || c.failover()->is_empty();
      if (key_gone && leader) return Response::text(503, r.action() + " failed");
      if (!leader) {
        phase = old_leader.value_or("the old leader") + " released the leader lock; waiting for " +
                r.candidate.value_or("a candidate") + " to take it";
        extended = true;
      } else if (!key_gone) {
        phase = "the request was written; " + *leader + " still holds the leader lock";
      }
    } else {
      phase = "the DCS is not accessible: " + loaded.error().describe();
    }
    if (waited() >= base + (extended ? s->ha.ttl : 0)) break;
  }
  return Response::text(503, r.action() + " not confirmed after " + std::to_string(static_cast<int>(waited())) +
                                 " s: " + phase);
}

Response AgentOperations::cancel_scheduled_switchover() {
  auto loaded = services_.dcs.get_cluster_fresh();
  if (!loaded) return Response::text(503, "DCS is not accessible: " + loaded.error().describe());
  const auto& f = loaded.value().failover();
  if (f && (f->scheduled_at || f->scheduled_at_invalid) && !f->is_empty()) {
    auto st = services_.dcs.set_failover_value("{}", f->version);
    if (!st) return Response::text(409, "the failover key changed meanwhile");
    agent_.wake_ha_loop();
    return Response::text(200, "scheduled switchover deleted");
  }
  return Response::text(404, "no switchover is scheduled");
}

// ---- /restart -----------------------------------------------------------------------------------

Response AgentOperations::restart(const Request& req) {
  auto body = api::read_json_body(req, true, false);
  if (auto* resp = std::get_if<Response>(&body)) return *resp;
  bool paused = settings_.current()->ha.pause;
  if (auto loaded = services_.dcs.get_cluster_fresh()) paused = cluster_paused(loaded.value());
  auto parsed = api::parse_restart_request(std::get<json>(body), paused, services_.clock.wall_seconds());
  if (auto* resp = std::get_if<Response>(&parsed)) return *resp;
  const api::RestartRequest r = take(parsed);

  if (r.schedule) {
    auto answer = agent_.run_in_loop(
        [this, r]() {
          ha::LocalState& l = agent_.memory().local;
          if (l.scheduled_restart) return Response::text(409, "Another restart is already scheduled");
          ha::ScheduledRestart s;
          s.schedule = *r.schedule;
          s.postmaster_start_time = l.postmaster_start_time;
          s.role = r.role;
          s.postgres_version = r.postgres_version;
          s.restart_pending = r.restart_pending;
          l.scheduled_restart = s;
          agent_.executor().touch_member();
          agent_.publish_snapshot();
          return Response::text(202, "Restart scheduled");
        },
        kLoopAnswerTimeout);
    return answer.value_or(loop_did_not_answer());
  }

  // Immediate: check the filters and start the restart on the loop thread, then wait here.
  // Shared with the job: it may run after run_in_loop gave up waiting.
  auto refused = std::make_shared<std::optional<Response>>();
  auto seq = std::make_shared<uint64_t>(0);
  auto answer = agent_.run_in_loop(
      [this, r, refused, seq]() {
        // Read here, on the loop thread, right before the start: an earlier restart's outcome
        // can never be taken for this one's.
        *seq = agent_.restart_sequence();
        const ha::LocalState& l = agent_.memory().local;
        const std::string role = role_text(l.role, PatroniGeneration::v4_1);
        bool matches = true;
        // Either spelling of the primary matches, whatever this node presents.
        if (r.role && *r.role != role && !(is_primary_role_name(*r.role) && is_primary_role_name(role)))
          matches = false;
        if (r.postgres_version && *r.postgres_version <= l.server_version) matches = false;
        if (r.restart_pending && agent_.memory().pending_restart_params.empty()) matches = false;
        if (!matches) *refused = Response::text(503, "restart conditions are not satisfied");
        else if (auto running = agent_.worker().current())
          *refused = Response::text(503, running->display_name() + " already in progress");
        else if (!agent_.executor().start_restart(r.timeout))
          *refused = Response::text(503, "restart failed");
        else
          agent_.memory().local.recovering = true;
        return Response::text(202, "restart started");
      },
      kLoopAnswerTimeout);
  if (!answer) return loop_did_not_answer();
  if (*refused) return **refused;
  // The worker wakes the loop when the restart ends; the loop records the outcome.
  const double limit = (r.timeout ? *r.timeout : settings_.current()->pg.pg_ctl_timeout) * 2.0 + 30;
  auto outcome = agent_.wait_restart_after(*seq, std::chrono::milliseconds(static_cast<int64_t>(limit * 1000)));
  if (!outcome) return Response::text(503, "postgres is still starting");
  if (outcome->ok) return Response::text(200, "restarted successfully");
  if (outcome->error.find("did not start in time") != std::string::npos)
    return Response::text(503, "postgres is still starting");
  return Response::text(503, "restart failed");
}

Response AgentOperations::cancel_scheduled_restart() {
  auto answer = agent_.run_in_loop(
      [this]() {
        ha::LocalState& l = agent_.memory().local;
        if (!l.scheduled_restart) return Response::text(404, "no restarts are scheduled");
        l.scheduled_restart.reset();
        agent_.executor().touch_member();
        agent_.publish_snapshot();
        return Response::text(200, "scheduled restart deleted");
      },
      kLoopAnswerTimeout);
  return answer.value_or(loop_did_not_answer());
}

// ---- /reinitialize ------------------------------------------------------------------------------

Response AgentOperations::reinitialize(const Request& req) {
  auto body = api::read_json_body(req, true, false);
  if (auto* resp = std::get_if<Response>(&body)) return *resp;
  const bool force = api::parse_reinitialize_force(std::get<json>(body));
  const bool from_leader = api::parse_reinitialize_from_leader(std::get<json>(body));
  auto attempt = [this, force, from_leader](bool cancel_running, std::shared_ptr<bool> cancelling) {
    return agent_.run_in_loop(
        [this, force, from_leader, cancel_running, cancelling]() {
          NodeMemory& m = agent_.memory();
          if (auto loaded = services_.dcs.get_cluster_fresh()) m.view = std::move(loaded).value();
          if (!m.view || !m.view->leader()) return Response::text(503, "Cluster has no leader, can not reinitialize");
          if (m.holds_lock_in_view()) return Response::text(503, "I am the leader, can not reinitialize");
          if (auto running = agent_.worker().current()) {
            if (force && cancel_running) {
              agent_.worker().cancel_current();
              *cancelling = true;
              return Response::text(503, running->display_name() + " is being cancelled");
            }
            return Response::text(503, running->display_name() + " already in progress");
          }
          // --from-leader (Patroni 4.1): a pg_basebackup from the leader, not from a clonefrom member.
          auto clone = from_leader ? std::nullopt : m.view->get_clone_member(m.local.name);
          const std::string from = clone ? clone->name() : m.view->leader()->name();
          if (!agent_.executor().start_reinitialize(from, from_leader)) return Response::text(503, "reinitialize failed to start");
          return Response::text(200, "reinitialize started");
        },
        kLoopAnswerTimeout);
  };
  auto cancelling = std::make_shared<bool>(false);
  auto answer = attempt(true, cancelling);
  if (answer && *cancelling) {
    // Forced: wait (bounded) for the cancelled action to end, then start.
    const auto wait = std::chrono::milliseconds(
        static_cast<int64_t>(std::max(10.0, settings_.current()->ha.retry_timeout) * 1000));
    agent_.worker().wait_idle(wait);
    answer = attempt(false, std::make_shared<bool>(false));
  }
  return answer.value_or(loop_did_not_answer());
}

// ---- /reload, /config, /failsafe ----------------------------------------------------------------

Response AgentOperations::reload() {
  agent_.request_reload();
  return Response::text(202, "reload scheduled");
}

Response AgentOperations::update_config(const Request& req, bool patch) {
  // Patroni's answers: 411/400 for the body, 503 without a config key to patch, 409 when the
  // patched value cannot be written, 502 when the replacement cannot. Whatever JSON object
  // Patroni stores is stored; custos's own checks only warn (log and X-Custos-Warning).
  auto body = api::read_json_body(req, false, true);
  if (auto* resp = std::get_if<Response>(&body)) return *resp;
  const json request = std::get<json>(body);
  auto loaded = services_.dcs.get_cluster_fresh();
  if (!loaded) return Response::text(503, "DCS is not accessible: " + loaded.error().describe());
  const auto& cc = loaded.value().config();
  auto warn = [](Response r, const json& stored) {
    const auto problems = config::dynamic_configuration_problems(stored);
    for (const auto& p : problems) spdlog::warn("dynamic configuration: {}", p);
    api::add_warning_header(r, problems);
    return r;
  };
  if (patch) {
    if (!cc || !cc->is_valid()) return Response::text(503, "the config key is missing or invalid");
    auto patched = api::patch_dynamic_config(cc->data(), request);
    if (patched.changed) {
      auto st = services_.dcs.set_config_value(patched.config.dump(), cc->version);
      if (!st) {
        if (st.error().kind == dcs::DcsErrorKind::kCasConflict)
          return Response::text(409, "the configuration was changed concurrently; try again");
        return Response::text(409, "failed to write the config key: " + st.error().describe());
      }
    }
    agent_.wake_ha_loop();
    return warn(Response::json(200, patched.config), patched.config);
  }
  if (!cc || cc->data() != request) {
    auto st = services_.dcs.set_config_value(request.dump(), std::nullopt);
    if (!st) return Response::text(502, "failed to write the config key: " + st.error().describe());
  }
  agent_.wake_ha_loop();
  return warn(Response::json(200, request), request);
}

Response AgentOperations::failsafe(const Request& req) {
  // ha.md §7, rest-api.md §6: only while failsafe_mode is on (502 otherwise, as Patroni).
  if (!settings_.current()->ha.failsafe_mode) return Response::text(502, "failsafe_mode is not enabled");
  auto body = api::read_json_body(req, false, false);
  if (auto* resp = std::get_if<Response>(&body)) return *resp;
  auto parsed = api::parse_failsafe_request(std::get<json>(body));
  if (auto* resp = std::get_if<Response>(&parsed)) return *resp;
  auto& r = std::get<api::FailsafeRequest>(parsed);
  FailsafeState::Leader leader;
  leader.name = r.name;
  leader.conn_url = r.conn_url;
  leader.api_url = r.api_url;
  leader.slots = r.slots;
  if (auto refused = agent_.accept_failsafe_leader(std::move(leader))) return Response::text(500, *refused);
  Response ok = Response::text(200, "Accepted");
  // Patroni 4 replicas tell the primary how far they got (quorum commit reads it).
  const auto snap = agent_.snapshot();
  if (snap.pg.query_ok && snap.pg.in_recovery)
    ok.headers.emplace_back("lsn", std::to_string(std::max(snap.pg.receive_lsn.value_or(0), snap.pg.replay_lsn.value_or(0))));
  return ok;
}

Response AgentOperations::citus(const Request& req) {
  // spec/citus.md §6: 400/411 for the body; taken only by the coordinator's leader; always
  // "OK" otherwise, as Patroni answers (the worker does not retry: reconciliation repairs).
  auto body = api::read_json_body(req, false, false);
  if (auto* resp = std::get_if<Response>(&body)) return *resp;
  auto parsed = mpp::CitusEventMessage::parse(std::get<json>(body));
  if (auto* problem = std::get_if<std::string>(&parsed)) {
    spdlog::warn("POST {}: {}", req.path, *problem);
    return Response::text(400, "citus event: " + *problem);
  }
  const auto& event = std::get<mpp::CitusEventMessage>(parsed);
  if (!services_.citus_coordinator || !agent_.snapshot().is_leader(services_.clock.now_seconds()))
    return Response::text(200, "OK");
  auto cluster = services_.dcs.get_cluster();
  if (!cluster) {
    spdlog::warn("citus: cannot read the cluster for {}: {}", mpp::to_string(event.type), cluster.error().describe());
    return Response::text(200, "OK");
  }
  // before_demote blocks until writes are paused: no longer than the worker waits for it (its
  // ttl), nor than our own ttl (a REST thread is held meanwhile).
  const double wait_s = std::min(event.timeout, settings_.current()->ha.ttl);
  const auto wait = std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000));
  services_.citus_coordinator->handle_event(cluster.value(), event, wait);
  return Response::text(200, "OK");
}

}  // namespace custos::agent
