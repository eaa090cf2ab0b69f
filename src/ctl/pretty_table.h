// A bordered text table drawn like Python's prettytable as patronictl uses it: left-aligned by
// default, one space of padding, `+`/`-`/`|` borders, a title injected into the first border
// line, multi-line cells, and a separator after every row when any cell has several lines.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace custos::ctl {

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<nlohmann::json>> rows;  // one value per column
  std::map<std::string, char> align;              // column -> 'l' (default), 'r' or 'c'
  std::string title;                              // injected into the top border; may be ""
};

// Python's str() of a cell value: strings as they are, integers in decimal, booleans
// True/False, null None; floats, objects and arrays as compact JSON.
std::string python_str(const nlohmann::json& value);

// Display width of UTF-8 text (code points; no wide-character handling).
size_t display_width(const std::string& text);

// The table as prettytable prints it, lines joined with '\n', no trailing newline.
std::string render_pretty(const Table& table);

}  // namespace custos::ctl
