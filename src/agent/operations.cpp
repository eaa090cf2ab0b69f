// The REST write endpoints (spec/rest-api.md §6) as the agent carries them out. Requests are
// parsed by api/write_requests; what touches the HA loop's own state (restart, reinitialize,
// scheduled restart) runs on the loop thread through the mailbox (run_in_loop), so the loop
// never races a REST thread. Switchover/failover and /config are DCS writes made from the REST
// thread, followed by waking the loop.
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <future>
#include <set>
#include <thread>

#include "agent/agent.h"
#include "agent/state_mapping.h"
#include "api/handler.h"
#include "api/rest_server.h"
#include "api/write_requests.h"
#include "config/global_config.h"

namespace custos::agent {

using namespace std::chrono_literals;
using api::Request;
using api::Response;
using nlohmann::json;

namespace {

std::string iso_time(double epoch) {
  const auto secs = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
  return buf;
}

std::string version_text(int v) {
  if (v >= 100000) return std::to_string(v / 10000) + "." + std::to_string(v % 10000);
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." + std::to_string(v % 100);
}

bool cluster_paused(const dcs::Cluster& c) {
  return config::GlobalConfig(c.config() ? c.config()->data() : json::object()).is_paused();
}

template <typename T>
T take(std::variant<T, Response>& v) {
  return std::get<T>(std::move(v));
}

}  // namespace

std::optional<json> Agent::scheduled_restart_json() const {
  if (!local_.scheduled_restart) return std::nullopt;
  const auto& r = *local_.scheduled_restart;
  json j = json::object();
  j["schedule"] = iso_time(r.schedule);
  if (r.postmaster_start_time) j["postmaster_start_time"] = *r.postmaster_start_time;
  if (r.role) j["role"] = *r.role;
  if (r.postgres_version) j["postgres_version"] = version_text(*r.postgres_version);
  if (r.restart_pending) j["restart_pending"] = true;
  return j;
}

void Agent::drain_mailbox() {
  std::vector<std::function<void()>> jobs;
  {
    std::lock_guard lk(mailbox_mu_);
    jobs.swap(mailbox_);
  }
  for (auto& job : jobs) job();
}

std::optional<Response> Agent::run_in_loop(std::function<Response()> fn, std::chrono::milliseconds timeout) {
  auto promise = std::make_shared<std::promise<Response>>();
  auto future = promise->get_future();
  {
    std::lock_guard lk(mailbox_mu_);
    mailbox_.push_back([promise, fn = std::move(fn)] {
      try {
        promise->set_value(fn());
      } catch (const std::exception& e) {
        promise->set_value(Response::text(500, std::string("internal error: ") + e.what()));
      }
    });
  }
  wake();
  if (future.wait_for(timeout) != std::future_status::ready) return std::nullopt;
  return future.get();
}

void Agent::register_operations(api::RequestHandler& h) {
  h.set_unsafe_handler("POST", "switchover", [this](const Request& r, api::NodeStateSource&, double now) {
    return api_switchover(r, false, now);
  });
  h.set_unsafe_handler("POST", "failover", [this](const Request& r, api::NodeStateSource&, double now) {
    return api_switchover(r, true, now);
  });
  h.set_unsafe_handler("DELETE", "switchover",
                       [this](const Request&, api::NodeStateSource&, double) { return api_delete_switchover(); });
  h.set_unsafe_handler("POST", "restart",
                       [this](const Request& r, api::NodeStateSource&, double now) { return api_restart(r, now); });
  h.set_unsafe_handler("DELETE", "restart",
                       [this](const Request&, api::NodeStateSource&, double) { return api_delete_restart(); });
  h.set_unsafe_handler("POST", "reinitialize",
                       [this](const Request& r, api::NodeStateSource&, double) { return api_reinitialize(r); });
  h.set_unsafe_handler("POST", "reload", [this](const Request&, api::NodeStateSource&, double) {
    request_reload();
    return Response::text(202, "reload scheduled");
  });
  h.set_unsafe_handler("PATCH", "config",
                       [this](const Request& r, api::NodeStateSource&, double) { return api_config(r, true); });
  h.set_unsafe_handler("PUT", "config",
                       [this](const Request& r, api::NodeStateSource&, double) { return api_config(r, false); });
  h.set_unsafe_handler("POST", "failsafe", [](const Request&, api::NodeStateSource&, double) {
    // failsafe_mode is not supported yet (feature_support.cpp warns when it is configured).
    return Response::text(502, "failsafe_mode is not enabled");
  });
  h.set_unsafe_handler("POST", "sigterm", [](const Request&, api::NodeStateSource&, double) {
    return Response::text(202, "shutdown scheduled");
  });
}

// ---- /switchover, /failover -------------------------------------------------------------------

std::optional<std::string> Agent::switchover_infeasible(const dcs::Cluster& c, const api::SwitchoverRequest& r) {
  const std::string action = r.switchover ? "switchover" : "failover";
  if (r.leader && (!c.leader_name() || *c.leader_name() != *r.leader)) return std::string("leader name does not match");
  std::vector<const dcs::Member*> candidates;
  const bool sync_mode = settings_.is_synchronous_mode();
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
  for (const auto& st : query_members(urls)) {
    if (auto why = st.failover_limitation()) {
      reasons += (reasons.empty() ? "" : ", ") + st.name + ": " + *why;
    } else {
      ok = true;
    }
  }
  if (ok) return std::nullopt;
  return action + " is not possible: no good candidates have been found" + (reasons.empty() ? "" : " (" + reasons + ")");
}

Response Agent::api_switchover(const Request& req, bool failover_endpoint, double now) {
  auto body = api::read_json_body(req, false, true);
  if (auto* resp = std::get_if<Response>(&body)) return *resp;
  auto loaded = dcs_->get_cluster_fresh();
  if (!loaded) return Response::text(503, "DCS is not accessible: " + loaded.error().describe());
  const dcs::Cluster cluster = loaded.value();
  auto parsed = api::parse_switchover_request(std::get<json>(body), failover_endpoint, cluster_paused(cluster), now);
  if (auto* resp = std::get_if<Response>(&parsed)) return *resp;
  const api::SwitchoverRequest r = take(parsed);
  const std::string action = r.switchover ? "switchover" : "failover";
  spdlog::info("received {} request with leader={} candidate={} scheduled_at={}", action, r.leader.value_or("None"),
               r.candidate.value_or("None"), r.scheduled_at ? r.scheduled_at_text : "None");
  if (!r.scheduled_at) {
    if (auto why = switchover_infeasible(cluster, r)) return Response::text(412, *why);
  }
  auto written = dcs_->set_failover_value(api::failover_key_value(r).dump(), std::nullopt);
  if (!written) return Response::text(503, "failed to write " + action + " key into DCS");
  wake();
  if (r.scheduled_at) return Response::text(202, r.action() + " scheduled");
  const std::optional<std::string> old_leader = cluster.leader_name();
  return wait_for_switchover(old_leader, r);
}

Response Agent::wait_for_switchover(const std::optional<std::string>& old_leader, const api::SwitchoverRequest& r) {
  const std::string verb = r.switchover ? "switched" : "failed";
  const std::string verb_title = r.switchover ? "Switched" : "Failed";
  // Patroni waits 2 x max(10, loop_wait) s; while the hand-over is visibly progressing (the
  // lock was released) we wait up to a ttl more instead of answering "status unknown".
  const double base = 2.0 * std::max(10.0, settings_.loop_wait);
  const double started = epoch_now();
  std::string phase = "the request was written; " + old_leader.value_or("nobody") + " still holds the leader lock";
  bool extended = false;
  while (true) {
    std::this_thread::sleep_for(100ms);
    auto loaded = dcs_->get_cluster();  // the watch cache: cheap, and at most milliseconds behind
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
    const double limit = base + (extended ? settings_.ttl : 0);
    if (epoch_now() - started >= limit) break;
  }
  return Response::text(503, r.action() + " not confirmed after " +
                                 std::to_string(static_cast<int>(epoch_now() - started)) + " s: " + phase);
}

Response Agent::api_delete_switchover() {
  auto loaded = dcs_->get_cluster_fresh();
  if (!loaded) return Response::text(503, "DCS is not accessible: " + loaded.error().describe());
  const auto& f = loaded.value().failover();
  if (f && (f->scheduled_at || f->scheduled_at_invalid) && !f->is_empty()) {
    auto st = dcs_->set_failover_value("{}", f->version);
    if (!st) return Response::text(409, "the failover key changed meanwhile");
    wake();
    return Response::text(200, "scheduled switchover deleted");
  }
  return Response::text(404, "no switchover is scheduled");
}

// ---- /restart --------------------------------------------------------------------------------

Response Agent::api_restart(const Request& req, double now) {
  auto body = api::read_json_body(req, true, false);
  if (auto* resp = std::get_if<Response>(&body)) return *resp;
  bool paused = snapshot().paused;
  if (auto loaded = dcs_->get_cluster_fresh()) paused = cluster_paused(loaded.value());
  auto parsed = api::parse_restart_request(std::get<json>(body), paused, now);
  if (auto* resp = std::get_if<Response>(&parsed)) return *resp;
  const api::RestartRequest r = take(parsed);

  if (r.schedule) {
    auto answer = run_in_loop(
        [this, r]() {
          if (local_.scheduled_restart) return Response::text(409, "Another restart is already scheduled");
          ha::ScheduledRestart s;
          s.schedule = *r.schedule;
          s.postmaster_start_time = local_.postmaster_start_time;
          s.role = r.role;
          s.postgres_version = r.postgres_version;
          s.restart_pending = r.restart_pending;
          local_.scheduled_restart = s;
          touch_member();
          publish_snapshot(epoch_now());
          return Response::text(202, "Restart scheduled");
        },
        30s);
    return answer.value_or(Response::text(503, "the HA loop did not answer in time"));
  }

  // Immediate: check the filters and start the restart on the loop thread, then wait here.
  auto seq_before = std::make_shared<uint64_t>(0);
  auto answer = run_in_loop(
      [this, r, seq_before]() {
        const std::string role = role_text(local_.role);
        bool matches = true;
        if (r.role && *r.role != role && !(*r.role == "primary" && role == "master") &&
            !(*r.role == "master" && role == "primary"))
          matches = false;
        if (r.postgres_version && *r.postgres_version <= local_.server_version) matches = false;
        if (r.restart_pending && pending_restart_params_.empty()) matches = false;
        if (!matches) return Response::text(503, "restart conditions are not satisfied");
        if (auto running = worker_->current()) return Response::text(503, running->display_name() + " already in progress");
        {
          std::lock_guard lk(restart_mu_);
          *seq_before = restart_seq_;
        }
        if (!start_restart(r.timeout)) return Response::text(503, "restart failed");
        local_.recovering = true;
        return Response::text(0, "");
      },
      30s);
  if (!answer) return Response::text(503, "the HA loop did not answer in time");
  if (answer->status != 0) return *answer;
  // Wait for the outcome (the worker wakes the loop, which records it).
  const double limit = (r.timeout ? *r.timeout : pg_->settings().pg_ctl_timeout) * 2.0 + 30;
  std::unique_lock lk(restart_mu_);
  restart_cv_.wait_for(lk, std::chrono::milliseconds(static_cast<int64_t>(limit * 1000)),
                       [&] { return restart_seq_ != *seq_before || stop_; });
  if (restart_seq_ == *seq_before) return Response::text(503, "postgres is still starting");
  if (restart_ok_) return Response::text(200, "restarted successfully");
  if (restart_error_.find("did not start in time") != std::string::npos)
    return Response::text(503, "postgres is still starting");
  return Response::text(503, "restart failed");
}

void Agent::record_restart_outcome(bool ok, const std::string& error) {
  {
    std::lock_guard lk(restart_mu_);
    ++restart_seq_;
    restart_ok_ = ok;
    restart_error_ = error;
  }
  restart_cv_.notify_all();
}

Response Agent::api_delete_restart() {
  auto answer = run_in_loop(
      [this]() {
        if (!local_.scheduled_restart) return Response::text(404, "no restarts are scheduled");
        local_.scheduled_restart.reset();
        touch_member();
        publish_snapshot(epoch_now());
        return Response::text(200, "scheduled restart deleted");
      },
      30s);
  return answer.value_or(Response::text(503, "the HA loop did not answer in time"));
}

// ---- /reinitialize ---------------------------------------------------------------------------

Response Agent::api_reinitialize(const Request& req) {
  auto body = api::read_json_body(req, true, false);
  if (auto* resp = std::get_if<Response>(&body)) return *resp;
  const bool force = api::parse_reinitialize_force(std::get<json>(body));
  auto attempt = [this, force](bool cancel_running) {
    return run_in_loop(
        [this, force, cancel_running]() {
          auto loaded = dcs_->get_cluster_fresh();
          if (loaded) view_ = loaded.value();
          if (!view_ || !view_->leader()) return Response::text(503, "Cluster has no leader, can not reinitialize");
          if (view_->leader_name() && *view_->leader_name() == local_.name)
            return Response::text(503, "I am the leader, can not reinitialize");
          if (auto running = worker_->current()) {
            if (force && cancel_running) {
              pg_->request_cancel();
              return Response::text(1, "cancelling");
            }
            return Response::text(503, running->display_name() + " already in progress");
          }
          auto clone = view_->get_clone_member(local_.name);
          const std::string from = clone ? clone->name() : view_->leader()->name();
          ha::Step step;
          step.action = ha::Action::reinitialize;
          step.member = from;
          run_step(step);
          if (!worker_->busy()) return Response::text(503, "reinitialize failed to start");
          return Response::text(200, "reinitialize started");
        },
        30s);
  };
  auto answer = attempt(true);
  if (answer && answer->status == 1) {
    // Forced: wait (bounded) for the cancelled action to end, then start.
    const double until = epoch_now() + std::max(10.0, settings_.retry_timeout);
    while (epoch_now() < until && worker_->busy()) std::this_thread::sleep_for(100ms);
    answer = attempt(false);
  }
  return answer.value_or(Response::text(503, "the HA loop did not answer in time"));
}

// ---- /config ---------------------------------------------------------------------------------

Response Agent::api_config(const Request& req, bool patch) {
  auto body = api::read_json_body(req, false, true);
  if (auto* resp = std::get_if<Response>(&body)) return *resp;
  const json request = std::get<json>(body);
  if (request.empty()) return Response::text(400, "Bad request: the body must be a non-empty JSON object");
  auto loaded = dcs_->get_cluster_fresh();
  if (!loaded) return Response::text(503, "DCS is not accessible: " + loaded.error().describe());
  const auto& cc = loaded.value().config();
  if (patch) {
    if (!cc || !cc->is_valid()) return Response::text(503, "the config key is missing or invalid");
    auto patched = api::patch_dynamic_config(cc->data(), request);
    if (patched.changed) {
      if (auto refused = api::refuse_invalid_dynamic_config(patched.config)) return *refused;
      auto st = dcs_->set_config_value(patched.config.dump(), cc->version);
      if (!st) {
        if (st.error().kind == dcs::DcsErrorKind::kCasConflict)
          return Response::text(409, "the configuration was changed concurrently; try again");
        return Response::text(503, "failed to write the config key: " + st.error().describe());
      }
    }
    wake();
    return Response::json(200, patched.config);
  }
  if (!cc || cc->data() != request) {
    if (auto refused = api::refuse_invalid_dynamic_config(request)) return *refused;
    auto st = dcs_->set_config_value(request.dump(), std::nullopt);
    if (!st) return Response::text(502, "failed to write the config key: " + st.error().describe());
  }
  wake();
  return Response::json(200, request);
}

}  // namespace custos::agent
