#include "postgres/conninfo.h"

#include <libpq-fe.h>

#include <set>
#include <stdexcept>

namespace custos::postgres {

std::string quote_conninfo_value(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out.push_back('\'');
  for (char c : value) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

namespace {
bool valid_keyword(const std::string& k) {
  if (k.empty()) return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}
}  // namespace

std::string build_conninfo(const ConninfoParams& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!valid_keyword(k)) throw std::invalid_argument("invalid conninfo keyword: '" + k + "'");
    if (!out.empty()) out.push_back(' ');
    out += k;
    out.push_back('=');
    out += quote_conninfo_value(v);
  }
  return out;
}

ConninfoParams with_param(ConninfoParams params, const std::string& key, const std::string& value) {
  for (auto& [k, v] : params) {
    if (k == key) {
      v = value;
      return params;
    }
  }
  params.emplace_back(key, value);
  return params;
}

bool libpq_knows_keyword(const std::string& keyword) {
  static const std::set<std::string> known = [] {
    std::set<std::string> names;
    PQconninfoOption* opts = PQconndefaults();
    if (opts == nullptr) return names;
    for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) names.insert(o->keyword);
    PQconninfoFree(opts);
    return names;
  }();
  return known.count(keyword) > 0;
}

Result<std::map<std::string, std::string>, std::string> parse_conninfo(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (opts == nullptr) {
    std::string msg = err ? err : "out of memory";
    if (err) PQfreemem(err);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return make_error(msg);
  }
  std::map<std::string, std::string> out;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) out[o->keyword] = o->val;
  }
  PQconninfoFree(opts);
  return out;
}

std::string format_dsn(const std::map<std::string, std::string>& params) {
  auto get = [&](const char* k) -> const std::string* {
    auto it = params.find(k);
    return (it == params.end() || it->second.empty()) ? nullptr : &it->second;
  };
  const bool has_passfile = get("passfile") != nullptr;
  static const char* const kOrder[] = {
      "dbname",      "user",        nullptr /* passfile|password */,
      "host",        "port",        "sslmode",
      "sslcompression", "sslcert",  "sslkey",
      "sslpassword", "sslrootcert", "sslcrl",
      "sslcrldir",   "application_name", "krbsrvname",
      "gssencmode",  "channel_binding", "target_session_attrs",
      "sslnegotiation"};
  std::string out;
  for (const char* kw : kOrder) {
    const char* key = kw ? kw : (has_passfile ? "passfile" : "password");
    const std::string* v = get(key);
    if (v == nullptr) continue;
    if (!out.empty()) out.push_back(' ');
    out += key;
    out.push_back('=');
    for (char c : *v) {
      if (c == '\'' || c == '\\' || c == ' ') out.push_back('\\');
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace custos::postgres
