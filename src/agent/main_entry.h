// The `custos CONFIG` entry point: refuses root, loads the configuration (file/env, then
// removes PATRONI_* from the environment), checks the few keys the agent cannot run without,
// builds the DCS (dcs/factory) and every real implementation the agent speaks to, routes
// SIGTERM/SIGINT (graceful stop) and SIGHUP (reload) to the Agent through a signal thread, and
// runs it. Returns the process exit code.
#pragma once

#include <string>

namespace custos::agent {

int run_agent_main(const std::string& config_path);

}  // namespace custos::agent
