#include "ctl/pretty_table.h"

#include <algorithm>
#include <sstream>

namespace custos::ctl {

namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t nl = text.find('\n', start);
    out.push_back(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

std::string justify(const std::string& text, size_t width, char align) {
  size_t w = display_width(text);
  size_t excess = width > w ? width - w : 0;
  if (align == 'r') return std::string(excess, ' ') + text;
  if (align == 'c') {
    // prettytable: the odd space goes to the right when the text width is odd, else left.
    size_t left = excess / 2, right = excess / 2;
    if (excess % 2) {
      if (w % 2) ++right; else ++left;
    }
    return std::string(left, ' ') + text + std::string(right, ' ');
  }
  return text + std::string(excess, ' ');
}

// The first `n` code points of UTF-8 text.
std::string utf8_prefix(const std::string& text, size_t n) {
  size_t count = 0, i = 0;
  for (; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      if (count == n) break;
      ++count;
    }
  }
  return text.substr(0, i);
}

}  // namespace

std::string python_str(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "True" : "False";
  if (value.is_null()) return "None";
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

size_t display_width(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

std::string render_pretty(const Table& table) {
  const size_t ncols = table.columns.size();
  std::vector<char> align(ncols, 'l');
  std::vector<size_t> widths(ncols, 0);
  for (size_t i = 0; i < ncols; ++i) {
    auto it = table.align.find(table.columns[i]);
    if (it != table.align.end()) align[i] = it->second;
    widths[i] = display_width(table.columns[i]);
  }
  std::vector<std::vector<std::vector<std::string>>> cells;  // row -> column -> lines
  bool multi_line = false;
  for (const auto& row : table.rows) {
    std::vector<std::vector<std::string>> r;
    for (size_t i = 0; i < ncols; ++i) {
      auto lines = split_lines(i < row.size() ? python_str(row[i]) : std::string());
      if (lines.size() > 1) multi_line = true;
      for (const auto& l : lines) widths[i] = std::max(widths[i], display_width(l));
      r.push_back(std::move(lines));
    }
    cells.push_back(std::move(r));
  }

  std::string hrule = "+";
  for (size_t w : widths) hrule += std::string(w + 2, '-') + "+";

  std::vector<std::string> out;
  std::string top = hrule;
  if (!table.title.empty() && hrule.size() >= 2) {
    std::string header = utf8_prefix(table.title, hrule.size() - 2);
    top = hrule.substr(0, 1) + header + hrule.substr(std::min(hrule.size(), 1 + display_width(header)));
  }
  out.push_back(top);
  std::string header_line = "|";
  for (size_t i = 0; i < ncols; ++i) header_line += " " + justify(table.columns[i], widths[i], align[i]) + " |";
  out.push_back(header_line);
  out.push_back(hrule);
  for (const auto& r : cells) {
    size_t height = 1;
    for (const auto& c : r) height = std::max(height, c.size());
    for (size_t line = 0; line < height; ++line) {
      std::string text = "|";
      for (size_t i = 0; i < ncols; ++i) {
        const std::string empty;
        const std::string& cell = line < r[i].size() ? r[i][line] : empty;
        text += " " + justify(cell, widths[i], align[i]) + " |";
      }
      out.push_back(text);
    }
    if (multi_line) out.push_back(hrule);
  }
  if (!multi_line) out.push_back(hrule);

  std::ostringstream joined;
  for (size_t i = 0; i < out.size(); ++i) joined << (i ? "\n" : "") << out[i];
  return joined.str();
}

}  // namespace custos::ctl
