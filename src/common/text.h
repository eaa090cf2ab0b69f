// Small text helpers shared by the modules that read other programs' output and lists in
// settings (pg_controldata, postmaster.pid, listen addresses). Pure; never throw.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace custos {

// `s` without leading and trailing spaces, tabs, carriage returns and newlines.
std::string_view trim_blanks(std::string_view s) noexcept;

// `s` split at every `separator`, each piece trimmed (trim_blanks); "" gives {""}.
std::vector<std::string> split_trimmed(std::string_view s, char separator);

}  // namespace custos
