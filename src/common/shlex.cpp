#include "common/shlex.h"

namespace custos {

namespace {
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
}  // namespace

Result<std::vector<std::string>, std::string> shlex_split(std::string_view text) {
  std::vector<std::string> out;
  std::string word;
  bool in_word = false;  // a word started (an empty '' is a word too)
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (is_space(c)) {
      if (in_word) out.push_back(std::move(word));
      word.clear();
      in_word = false;
      ++i;
    } else if (c == '\\') {
      if (i + 1 >= text.size()) return make_error(std::string("No escaped character"));
      word.push_back(text[i + 1]);
      in_word = true;
      i += 2;
    } else if (c == '\'') {
      const auto end = text.find('\'', i + 1);
      if (end == std::string_view::npos) return make_error(std::string("No closing quotation"));
      word.append(text.substr(i + 1, end - i - 1));
      in_word = true;
      i = end + 1;
    } else if (c == '"') {
      ++i;
      bool closed = false;
      while (i < text.size()) {
        const char d = text[i];
        if (d == '"') {
          closed = true;
          ++i;
          break;
        }
        if (d == '\\' && i + 1 < text.size() &&
            (text[i + 1] == '\\' || text[i + 1] == '"' || text[i + 1] == '$' || text[i + 1] == '`' || text[i + 1] == '\n')) {
          word.push_back(text[i + 1]);
          i += 2;
          continue;
        }
        word.push_back(d);
        ++i;
      }
      if (!closed) return make_error(std::string("No closing quotation"));
      in_word = true;
    } else {
      word.push_back(c);
      in_word = true;
      ++i;
    }
  }
  if (in_word) out.push_back(std::move(word));
  return out;
}

}  // namespace custos
