// Drift-free scheduling of the HA cycle (ha.md §0): next_run = previous scheduled run +
// loop_wait; when that moment has already passed the cycle runs at once (and the caller warns).
#pragma once

namespace custos::agent {

struct NextRun {
  double at = 0;         // seconds since the epoch
  bool overran = false;  // the cycle took longer than loop_wait: run immediately
};

// `previous`: when the cycle that just ended was scheduled; `now`: the current time.
NextRun next_run(double previous, double loop_wait, double now);

}  // namespace custos::agent
