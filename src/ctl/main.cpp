// custosctl: the command-line tool (patronictl's counterpart). All logic lives in custos_ctl.
#include <iostream>

#include "ctl/commands.h"

int main(int argc, char** argv) { return custos::ctl::run_ctl(argc, argv, std::cout, std::cerr); }
