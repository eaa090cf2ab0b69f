// The command layer of custosctl: loads the configuration, builds the DCS client in ctl mode,
// reads each cluster and prints it (list/topology, with -t and -W/-w watching until Ctrl-C).
// Exit codes as click: 0 ok, 1 runtime error ("Error: ..." on stderr), 2 usage error.
#pragma once

#include <ostream>

#include "ctl/cli.h"

namespace custos::ctl {

// Runs a parsed invocation.
int run_invocation(const Invocation& invocation, std::ostream& out, std::ostream& err);

// The whole program: parse argv, run, return the exit code.
int run_ctl(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace custos::ctl
