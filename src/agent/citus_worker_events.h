// CitusWorkerEvents: what a Citus worker's primary tells its coordinator (spec/citus.md §6):
// before_demote, before_promote and after_promote, posted to the coordinator leader's
// POST /citus with Patroni's body {type, group, leader, timeout: ttl, cooldown: retry_timeout}.
// The coordinator is found in the DCS (group 0's leader key and member); the request goes
// through the agent's HTTP client (TLS client certificate and basic auth as Patroni sends them).
// No retry: a lost event is repaired by the coordinator's reconciliation each cycle.
//
// Thread: any (the HA loop and the async task thread). Blocking: a DCS read (retry_timeout)
// plus the request: up to ttl for before_demote (the coordinator answers once writes are
// paused), 2 s for the others. Errors are logged, never thrown.
#pragma once

#include <string>

#include "agent/member_queries.h"
#include "dcs/dcs.h"
#include "mpp/citus_event.h"

namespace custos::agent {

class CitusWorkerEvents {
 public:
  CitusWorkerEvents(dcs::Dcs& dcs, MemberQueries& members, int group) : dcs_(dcs), members_(members), group_(group) {}
  // Sends `event` as member `my_name`; true when the coordinator answered 200.
  bool notify(mpp::CitusEvent event, const std::string& my_name, int ttl, int retry_timeout);

 private:
  dcs::Dcs& dcs_;
  MemberQueries& members_;
  const int group_;
};

}  // namespace custos::agent
