// Interactive questions the way click asks them (click.prompt / click.confirm): the question is
// written to the output stream, the answer read from the input stream line by line. End of input
// aborts ("Aborted!", exit 1), like click does on EOF.
#pragma once

#include <istream>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>

namespace custos::ctl {

// Thrown when the input ends while a question waits for an answer (click's Abort).
struct PromptAborted : std::runtime_error {
  PromptAborted() : std::runtime_error("Aborted!") {}
};

class Prompter {
 public:
  Prompter(std::istream& in, std::ostream& out) : in_(in), out_(out) {}

  // "text [default]: " (no brackets without a default); an empty answer gives the default; with
  // no default an empty answer asks again. hide_input: the terminal does not echo (password).
  std::string prompt(const std::string& text,
                     const std::optional<std::string>& default_value = std::nullopt,
                     bool hide_input = false);

  // "text [y/N]: " (or [Y/n]); y/yes/n/no in any case; empty gives the default; anything else:
  // "Error: invalid input" and the question again.
  bool confirm(const std::string& text, bool default_value = false);

 private:
  std::string read_line(bool hide_input);

  std::istream& in_;
  std::ostream& out_;
};

}  // namespace custos::ctl
