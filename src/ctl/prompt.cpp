#include "ctl/prompt.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <iostream>

#include "common/terminal_echo.h"

namespace custos::ctl {

std::string Prompter::read_line(bool hide_input) {
  out_.flush();
  std::string line;
  bool got = false;
  {
    const TerminalEchoOff quiet(hide_input && &in_ == &std::cin ? STDIN_FILENO : -1);
    got = static_cast<bool>(std::getline(in_, line));
    if (quiet.active()) out_ << "\n";
  }
  if (!got) {
    out_ << "\n";
    out_.flush();
    throw PromptAborted();
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

std::string Prompter::prompt(const std::string& text,
                             const std::optional<std::string>& default_value, bool hide_input) {
  while (true) {
    out_ << text;
    if (default_value && !hide_input) out_ << " [" << *default_value << "]";
    out_ << ": ";
    std::string answer = read_line(hide_input);
    if (!answer.empty()) return answer;
    if (default_value) return *default_value;
  }
}

bool Prompter::confirm(const std::string& text, bool default_value) {
  while (true) {
    out_ << text << (default_value ? " [Y/n]: " : " [y/N]: ");
    std::string answer = read_line(false);
    std::string lower = answer;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    // click strips surrounding whitespace
    while (!lower.empty() && std::isspace(static_cast<unsigned char>(lower.back())))
      lower.pop_back();
    while (!lower.empty() && std::isspace(static_cast<unsigned char>(lower.front())))
      lower.erase(lower.begin());
    if (lower.empty()) return default_value;
    if (lower == "y" || lower == "yes") return true;
    if (lower == "n" || lower == "no") return false;
    out_ << "Error: invalid input\n";
  }
}

}  // namespace custos::ctl
