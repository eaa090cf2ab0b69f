#include "common/text.h"

namespace custos {

namespace {
bool blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
}  // namespace

std::string_view trim_blanks(std::string_view s) noexcept {
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_trimmed(std::string_view s, char separator) {
  std::vector<std::string> out;
  for (;;) {
    const auto at = s.find(separator);
    out.emplace_back(trim_blanks(s.substr(0, at)));
    if (at == std::string_view::npos) break;
    s.remove_prefix(at + 1);
  }
  return out;
}

}  // namespace custos
