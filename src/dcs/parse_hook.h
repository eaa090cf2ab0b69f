// Test-only seam of the cluster model. No DCS value makes a value parser throw (they are total:
// garbage gives defaults), so the reporting of a key whose parsing threw anyway (memory
// exhaustion, a bug: Cluster::from_nodes' KeyParseFailure, the backends' kMalformedReply) can
// only be exercised by making parsing throw on purpose. Production code never sets the hook.
// Thread-safe (an atomic function pointer, read once per parsed key).
#pragma once

#include <string_view>

namespace custos::dcs::testing {

// Called with each key (relative to the cluster base or Citus group: "leader", "members/a")
// right before Cluster::from_nodes parses it, from whichever thread parses; whatever it throws
// counts as a failure to parse that key.
using ParseHook = void (*)(std::string_view key);

// Installs `hook` (nullptr: none, the default) for every thread.
void set_parse_hook(ParseHook hook);

}  // namespace custos::dcs::testing
