#include "postgres/pgpass.h"

#include "postgres/file_util.h"

namespace custos::postgres {

std::string escape_pgpass_field(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == ':' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

namespace {
std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}
std::string field(const std::string& v) { return v.empty() ? std::string("*") : escape_pgpass_field(v); }
}  // namespace

std::string render_pgpass(const std::vector<PgpassEntry>& entries) {
  std::string out;
  for (const auto& e : entries) {
    std::vector<std::string> hosts;
    std::string_view rest = e.host;
    while (true) {
      auto comma = rest.find(',');
      std::string h = trim(rest.substr(0, comma));
      if (!h.empty()) hosts.push_back(h);
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
    bool socket = false, has_localhost = false;
    for (const auto& h : hosts) {
      socket |= h.front() == '/';
      has_localhost |= h == "localhost";
    }
    if (socket && !has_localhost) hosts.push_back("localhost");
    if (hosts.empty()) hosts.push_back("");
    for (const auto& h : hosts)
      out += field(h) + ":" + field(e.port) + ":*:" + field(e.user) + ":" + field(e.password) + "\n";
  }
  return out;
}

void write_pgpass(const std::string& path, const std::vector<PgpassEntry>& entries) {
  write_file_atomic(path, render_pgpass(entries), 0600);
}

}  // namespace custos::postgres
