#include "config/config.h"

#include "common/json_truth.h"
#include "config/values.h"

namespace custos::config {

std::string collapse_slashes(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  return out;
}

Config::Config() : Config(json::object(), json::object()) {}

Config::Config(json local, json dynamic)
    : local_(local.is_object() ? std::move(local) : json::object()),
      dynamic_(dynamic.is_object() ? std::move(dynamic) : json::object()) {
  auto built = build_effective_configuration(dynamic_, local_);
  effective_ = std::move(built.config);
  warnings_ = std::move(built.warnings);
  // custos.compat the agent cannot read: said at start and on every reload (--validate-config
  // calls it an error), the default presented meanwhile.
  if (auto warning = unaccepted_compat_warning(effective_)) warnings_.push_back(std::move(*warning));
  dynamic_error_ = std::move(built.dynamic_error);
  global_ = dynamic_;
  timing_ = Timing{effective_["ttl"].get<int>(), effective_["loop_wait"].get<int>(),
                   effective_["retry_timeout"].get<int>()};
}

std::string Config::string_at(const json& obj, const char* key, const std::string& fallback) const {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (it->is_string()) return it->get<std::string>();
  return it->dump();  // Patroni would str() a number here
}

std::string Config::name() const { return string_at(effective_, "name"); }
std::string Config::scope() const { return string_at(effective_, "scope"); }

std::string Config::namespace_path() const {
  return collapse_slashes("/" + string_at(effective_, "namespace", "service") + "/");
}

std::string Config::base_path() const {
  return collapse_slashes("/" + string_at(effective_, "namespace", "service") + "/" + scope() + "/");
}

const json& Config::section(const std::string& key) const {
  static const json kEmpty = json::object();
  auto it = effective_.find(key);
  if (it == effective_.end() || !it->is_object()) return kEmpty;
  return *it;
}

std::string Config::dcs_section_name() const {
  for (const char* n : kDcsSectionNames)
    if (effective_.contains(n)) return n;
  return "";
}

json Config::dcs_section() const {
  std::string n = dcs_section_name();
  if (n.empty()) return json::object();
  json out = effective_[n].is_object() ? effective_[n] : json::object();
  for (const char* p : {"namespace", "name", "scope", "loop_wait", "ttl", "retry_timeout"})
    if (effective_.contains(p)) out[p] = effective_[p];
  if (effective_.contains("citus") && effective_["citus"].is_object()) {
    for (auto it = effective_["citus"].begin(); it != effective_["citus"].end(); ++it) out[it.key()] = it.value();
  }
  return out;
}

std::optional<int> citus_group_of(const json& c) {
  if (!c.is_object() || !c.contains("group")) return std::nullopt;
  auto g = parse_int(c["group"]);
  if (!g || *g < 0 || *g > 1000000) return std::nullopt;
  return static_cast<int>(*g);
}

std::optional<std::string> citus_database_of(const json& c) {
  if (!c.is_object() || !c.contains("database") || !c["database"].is_string()) return std::nullopt;
  return c["database"].get<std::string>();
}

PatroniGeneration Config::presentation() const { return presentation_of_config(effective_); }

std::optional<int> Config::citus_group() const { return citus_group_of(citus()); }

std::optional<std::string> Config::citus_database() const { return citus_database_of(citus()); }

std::string Config::data_dir() const { return string_at(postgresql(), "data_dir"); }

std::string Config::config_dir() const {
  std::string d = string_at(postgresql(), "config_dir");
  return d.empty() ? data_dir() : d;
}

std::vector<std::string> Config::create_replica_methods() const {
  const json& pg = postgresql();
  std::vector<std::string> out;
  // Patroni: create_replica_methods, else the older create_replica_method.
  auto it = pg.find("create_replica_methods");
  if (it == pg.end() || it->is_null() || (it->is_array() && it->empty())) it = pg.find("create_replica_method");
  if (it != pg.end()) {
    if (it->is_array()) {
      for (const auto& m : *it)
        if (m.is_string()) out.push_back(m.get<std::string>());
    } else if (it->is_string() && !it->get<std::string>().empty()) {
      out.push_back(it->get<std::string>());
    }
  }
  if (out.empty()) out.push_back("basebackup");
  return out;
}

bool Config::use_pg_rewind() const {
  const json& pg = postgresql();
  auto it = pg.find("use_pg_rewind");
  return it != pg.end() && python_truthy(*it);  // Patroni: bool(use_pg_rewind)
}

}  // namespace custos::config
