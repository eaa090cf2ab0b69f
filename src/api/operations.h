// Operations: the write endpoints of the REST API (rest-api.md §6) as the node carries them out.
// src/api owns this interface; the agent implements it (agent/operations.h). RequestHandler calls
// it only after the access-control chain (§7) let the request through.
//
// Thread: REST worker threads, several at once. Blocking: a call may wait for the outcome it
// reports (a switchover up to 2 x max(10, loop_wait) s plus a ttl while it visibly progresses,
// a restart up to its timeout), always bounded. Errors: every outcome is an HTTP reply.
#pragma once

#include "api/handler.h"

namespace custos::api {

class Operations {
 public:
  virtual ~Operations() = default;
  // POST /switchover (failover_endpoint false) and POST /failover.
  virtual Response switchover(const Request& request, bool failover_endpoint) = 0;
  // DELETE /switchover: cancel a scheduled switchover.
  virtual Response cancel_scheduled_switchover() = 0;
  // POST /restart: immediate or scheduled.
  virtual Response restart(const Request& request) = 0;
  // DELETE /restart: cancel a scheduled restart.
  virtual Response cancel_scheduled_restart() = 0;
  virtual Response reinitialize(const Request& request) = 0;
  // POST /reload: re-read the configuration file.
  virtual Response reload() = 0;
  // PATCH /config (patch true) and PUT /config.
  virtual Response update_config(const Request& request, bool patch) = 0;
  // POST /failsafe: the primary's heartbeat while the DCS is unreachable (ha.md §7).
  virtual Response failsafe(const Request& request) = 0;
  // POST /citus and POST /mpp: a Citus worker's event (spec/citus.md §6), 200 "OK" once taken
  // (before_demote: once the coordinator paused writes to the worker's group).
  virtual Response citus(const Request& request) = 0;
};

// Routes the unsafe endpoints of `handler` to `operations` (which must outlive the handler).
// POST /sigterm answers 202 as Patroni does on Linux (it only acts on Windows).
void route_operations(RequestHandler& handler, Operations& operations);

}  // namespace custos::api
