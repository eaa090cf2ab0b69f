#include "ha/tags.h"

namespace custos::ha {

bool Tags::is_nofailover() const {
  if (nofailover.has_value()) return *nofailover;
  return failover_priority.has_value() && *failover_priority <= 0;
}

int64_t Tags::priority() const {
  if (nofailover.value_or(false)) return 0;
  return failover_priority.value_or(1);
}

}  // namespace custos::ha
