// RetainedSlots: the leader's memory of the member slots it keeps (Patroni 4 member_slots_ttl):
// each slot name with when it was last seen in use by a member of the cluster, so that the
// slot of a member that left is kept for member_slots_ttl and then let go. Published as /status
// `retain_slots`; seeded from there when a node wins the lock, so the time restarts after a
// failover (as in Patroni).
//
// Pure bookkeeping on a monotonic clock (seconds); HA loop only.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace custos::ha {

class RetainedSlots {
 public:
  // After winning the lock: the names the last leader published count as seen `now`.
  void seed(const std::vector<std::string>& names, double now);
  void clear() { last_seen_.clear(); }

  // One cycle as leader: `seen` (slot names of current members that have a slot here, and the
  // leader's own) are refreshed; names not seen for `ttl` seconds are dropped and appended to
  // `expired` when given. Returns the names kept, sorted.
  std::vector<std::string> update(const std::set<std::string>& seen, double now, double ttl,
                                  std::vector<std::string>* expired = nullptr);

 private:
  std::map<std::string, double> last_seen_;
};

}  // namespace custos::ha
