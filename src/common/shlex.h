// Python's shlex.split(s) (POSIX mode, no comments), which Patroni applies to every command it
// runs from the configuration (callbacks, pre_promote, before_stop, custom bootstrap and
// replica methods): words separated by whitespace; '...' literal; "..." with backslash escaping
// only \, ", $, ` and newline; a backslash outside quotes escapes the next character.
//
// Pure; errors are Python's messages ("No closing quotation", "No escaped character").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace custos {

Result<std::vector<std::string>, std::string> shlex_split(std::string_view text);

}  // namespace custos
