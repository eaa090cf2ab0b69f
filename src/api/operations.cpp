#include "api/operations.h"

namespace custos::api {

void route_operations(RequestHandler& h, Operations& ops) {
  h.set_unsafe_handler("POST", "switchover",
                       [&ops](const Request& r, NodeStateSource&, double) { return ops.switchover(r, false); });
  h.set_unsafe_handler("POST", "failover",
                       [&ops](const Request& r, NodeStateSource&, double) { return ops.switchover(r, true); });
  h.set_unsafe_handler("DELETE", "switchover",
                       [&ops](const Request&, NodeStateSource&, double) { return ops.cancel_scheduled_switchover(); });
  h.set_unsafe_handler("POST", "restart", [&ops](const Request& r, NodeStateSource&, double) { return ops.restart(r); });
  h.set_unsafe_handler("DELETE", "restart",
                       [&ops](const Request&, NodeStateSource&, double) { return ops.cancel_scheduled_restart(); });
  h.set_unsafe_handler("POST", "reinitialize",
                       [&ops](const Request& r, NodeStateSource&, double) { return ops.reinitialize(r); });
  h.set_unsafe_handler("POST", "reload", [&ops](const Request&, NodeStateSource&, double) { return ops.reload(); });
  h.set_unsafe_handler("PATCH", "config",
                       [&ops](const Request& r, NodeStateSource&, double) { return ops.update_config(r, true); });
  h.set_unsafe_handler("PUT", "config",
                       [&ops](const Request& r, NodeStateSource&, double) { return ops.update_config(r, false); });
  h.set_unsafe_handler("POST", "failsafe", [&ops](const Request& r, NodeStateSource&, double) { return ops.failsafe(r); });
  // /mpp (Patroni 4's name) goes through the same access checks as /citus.
  for (const char* path : {"citus", "mpp"})
    h.set_unsafe_handler("POST", path, [&ops](const Request& r, NodeStateSource&, double) { return ops.citus(r); });
  h.set_unsafe_handler("POST", "sigterm", [](const Request&, NodeStateSource&, double) {
    return Response::text(202, "shutdown scheduled");
  });
}

}  // namespace custos::api
