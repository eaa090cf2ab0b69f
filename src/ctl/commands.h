// The command layer of custosctl: loads the configuration, builds the DCS client in ctl mode,
// reads each cluster and prints it (list/topology, with -t and -W/-w watching until Ctrl-C), and
// dispatches the other commands (command_context.h).
// Exit codes as click: 0 ok, 1 runtime error ("Error: ..." on stderr), 2 usage error.
#pragma once

#include <istream>
#include <ostream>

#include "ctl/cli.h"
#include "ctl/rest_calls.h"

namespace custos::ctl {

// Runs a parsed invocation.
int run_invocation(const Invocation& invocation, std::ostream& out, std::ostream& err);
// Same, with the answers to questions read from `in` and, when `api` is given, the members'
// REST API replaced by it (tests).
int run_invocation(const Invocation& invocation, std::ostream& out, std::ostream& err,
                   std::istream& in, MemberApi* api);

// The whole program: parse argv, run, return the exit code.
int run_ctl(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace custos::ctl
