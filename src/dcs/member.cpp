#include "dcs/member.h"

#include <limits>

#include "dcs/connection_string.h"
#include "common/json_truth.h"
#include "dcs/json_util.h"
#include "common/python_int.h"

namespace custos::dcs {

namespace {

const nlohmann::json& empty_object() {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  return kEmpty;
}

const nlohmann::json* find_key(const nlohmann::json& obj, std::string_view key) noexcept {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

bool truthy_key(const nlohmann::json& obj, std::string_view key) noexcept {
  const nlohmann::json* v = find_key(obj, key);
  return v != nullptr && python_truthy(*v);
}

// Text of a scalar for building a URL the way Python's str.format would.
std::string scalar_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_number_unsigned()) return v.dump();
  return {};
}

}  // namespace

std::optional<PatroniVersion> parse_patroni_version(std::string_view text) {
  if (text.empty()) return std::nullopt;
  PatroniVersion out;
  size_t pos = 0;
  while (true) {
    size_t dot = text.find('.', pos);
    // Patroni: tuple(map(int, version.split('.'))).
    auto v = python_int(text.substr(pos, dot == std::string_view::npos ? std::string_view::npos : dot - pos));
    if (!v) return std::nullopt;
    out.push_back(*v);
    if (dot == std::string_view::npos) break;
    pos = dot + 1;
  }
  return out;
}

std::string to_string(const PatroniVersion& version) {
  std::string out;
  for (size_t i = 0; i < version.size(); ++i) {
    if (i) out += '.';
    out += std::to_string(version[i]);
  }
  return out;
}

bool is_primary_role(std::string_view role) noexcept {
  return role == "master" || role == "primary";
}

Member::Member(std::string name, Version version, std::optional<std::string> session,
               nlohmann::json data)
    : version(version), session(std::move(session)), name_(std::move(name)),
      data_(data.is_object() ? std::move(data) : nlohmann::json::object()) {}

Member Member::from_node(Version version, std::string name, std::optional<std::string> session,
                         std::string_view value) {
  nlohmann::json data = nlohmann::json::object();
  try {
    if (value.substr(0, 8) == "postgres") {
      auto [conn_url, api_url] = parse_connection_string(value);
      data["conn_url"] = conn_url;
      data["api_url"] = api_url ? nlohmann::json(*api_url) : nlohmann::json(nullptr);
    } else if (auto parsed = parse_json(value); parsed && parsed->is_object()) {
      data = std::move(*parsed);
    }
  } catch (...) {
    data = nlohmann::json::object();
  }
  return Member(std::move(name), version, std::move(session), std::move(data));
}

std::optional<std::string> Member::conn_url() const {
  auto url = json_string(data_, "conn_url");
  if (url && !url->empty()) return url;
  const nlohmann::json* kw = find_key(data_, "conn_kwargs");
  if (kw && kw->is_object() && !kw->empty()) {
    std::string host;
    if (auto h = kw->find("host"); h != kw->end()) host = scalar_text(*h);
    std::string port = "5432";
    if (auto p = kw->find("port"); p != kw->end()) port = python_truthy(*p) ? scalar_text(*p) : "";
    return build_conn_url("postgresql", host, port);
  }
  return std::nullopt;
}

std::optional<std::string> Member::api_url() const { return json_string(data_, "api_url"); }

std::optional<std::string> Member::proxy_url() const { return json_string(data_, "proxy_url"); }

std::string Member::state() const {
  auto s = json_string(data_, "state");
  return s ? *s : std::string("unknown");
}

std::string Member::role() const {
  auto r = json_string(data_, "role");
  return r ? *r : std::string();
}

const nlohmann::json& Member::tags() const noexcept {
  const nlohmann::json* t = find_key(data_, "tags");
  return t && t->is_object() ? *t : empty_object();
}

namespace {

// Patroni's paired tags (nofailover/failover_priority, nosync/sync_priority): the flag when set
// and not null, else a priority <= 0 means the flag.
bool flag_or_zero_priority(const nlohmann::json& tags, const char* flag, const char* priority) {
  const nlohmann::json* f = find_key(tags, flag);
  if (f && !f->is_null()) return python_truthy(*f);
  const nlohmann::json* p = find_key(tags, priority);
  if (!p) return false;
  auto prio = parse_int(*p);
  return prio && *prio <= 0;
}

// The priority: 0 when the flag is truthy, else the tag (default 1).
int64_t priority_unless_flag(const nlohmann::json& tags, const char* flag, const char* priority) {
  if (truthy_key(tags, flag)) return 0;
  const nlohmann::json* p = find_key(tags, priority);
  std::optional<int64_t> prio = p ? parse_int(*p) : std::nullopt;
  return prio ? *prio : 1;
}

}  // namespace

bool Member::nofailover() const { return flag_or_zero_priority(tags(), "nofailover", "failover_priority"); }
int64_t Member::failover_priority() const { return priority_unless_flag(tags(), "nofailover", "failover_priority"); }

bool Member::clonefrom_tag() const { return truthy_key(tags(), "clonefrom"); }
bool Member::clonefrom() const { return clonefrom_tag() && conn_url().has_value(); }
bool Member::noloadbalance() const { return truthy_key(tags(), "noloadbalance"); }
bool Member::nosync() const { return flag_or_zero_priority(tags(), "nosync", "sync_priority"); }
int64_t Member::sync_priority() const { return priority_unless_flag(tags(), "nosync", "sync_priority"); }
// The only tag Patroni reads with parse_bool: a quoted "false" is not nostream.
bool Member::nostream() const {
  const nlohmann::json* v = find_key(tags(), "nostream");
  return v != nullptr && patroni_parse_bool(*v).value_or(false);
}

std::optional<std::string> Member::replicatefrom() const {
  return json_string(tags(), "replicatefrom");
}

std::optional<PatroniVersion> Member::patroni_version() const {
  auto v = json_string(data_, "version");
  if (!v || v->empty()) return std::nullopt;
  return parse_patroni_version(*v);
}

std::optional<int64_t> Member::lsn() const {
  const nlohmann::json* v = find_key(data_, "xlog_location");
  return v ? parse_int(*v) : std::nullopt;
}

std::optional<int64_t> Member::receive_lsn() const {
  const nlohmann::json* v = find_key(data_, "receive_lsn");
  return v ? parse_int(*v) : std::nullopt;
}

std::optional<int64_t> Member::replay_lsn() const {
  const nlohmann::json* v = find_key(data_, "replay_lsn");
  return v ? parse_int(*v) : std::nullopt;
}

std::optional<int64_t> Member::timeline() const {
  const nlohmann::json* v = find_key(data_, "timeline");
  return v ? parse_int(*v) : std::nullopt;
}

std::optional<std::string> Member::replication_state() const {
  return json_string(data_, "replication_state");
}

bool Member::pending_restart() const { return truthy_key(data_, "pending_restart"); }
bool Member::is_paused() const { return truthy_key(data_, "pause"); }

nlohmann::json Member::conn_kwargs(const nlohmann::json& auth) const {
  nlohmann::json ret;
  const nlohmann::json* kw = find_key(data_, "conn_kwargs");
  if (kw && kw->is_object() && !kw->empty()) {
    ret = nlohmann::json{{"host", nullptr}, {"port", nullptr}, {"dbname", nullptr}};
    for (auto it = kw->begin(); it != kw->end(); ++it) ret[it.key()] = *it;
  } else {
    auto url = conn_url();
    if (!url) return nlohmann::json::object();
    ret = conn_kwargs_from_url(*url);
    if (ret.empty()) return ret;
  }
  return merge_auth(std::move(ret), auth);
}

bool Member::operator==(const Member& other) const noexcept {
  return version == other.version && session == other.session && name_ == other.name_ &&
         data_ == other.data_;
}

}  // namespace custos::dcs
