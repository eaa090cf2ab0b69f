#include "config/loader.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/merge.h"
#include "config/yaml.h"

namespace custos::config {

namespace fs = std::filesystem;

std::string LoadError::to_string() const {
  std::ostringstream out;
  if (!file.empty()) out << file << ": ";
  if (line > 0) {
    out << "line " << line;
    if (column > 0) out << ", column " << column;
    out << ": ";
  }
  out << message;
  return out.str();
}

namespace {

Result<json, LoadError> parse_root(std::string_view text, const std::string& file) {
  auto parsed = parse_yaml(text);
  if (!parsed) {
    const auto& e = parsed.error();
    return make_error(LoadError{"invalid YAML: " + e.message, file, e.line, e.column});
  }
  json root = std::move(parsed).value();
  if (root.is_null()) return json::object();
  if (!root.is_object()) {
    return make_error(LoadError{"the configuration must be a YAML mapping, got a " + std::string(root.is_array() ? "list" : "scalar"),
                                file});
  }
  return root;
}

}  // namespace

Result<json, LoadError> load_yaml_file(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (!ec && size > kMaxYamlBytes) {
    return make_error(LoadError{"file too large (" + std::to_string(size) + " bytes)", path});
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(LoadError{"cannot open file", path});
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return make_error(LoadError{"cannot read file", path});
  return parse_root(buf.str(), path);
}

Result<json, LoadError> load_config_path(const std::string& path) {
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_regular_file(path, ec)) {
    files.push_back(path);
  } else if (fs::is_directory(path, ec)) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      std::string name = entry.path().filename().string();
      bool yaml = (name.size() > 4 && name.ends_with(".yml")) || (name.size() > 5 && name.ends_with(".yaml"));
      std::error_code ec2;
      if (yaml && fs::is_regular_file(entry.path(), ec2)) names.push_back(name);
    }
    if (ec) return make_error(LoadError{"cannot list directory: " + ec.message(), path});
    std::sort(names.begin(), names.end());
    for (const auto& n : names) files.push_back((fs::path(path) / n).string());
  } else {
    return make_error(LoadError{"config path is neither a directory nor a file", path});
  }
  json overall = json::object();
  for (const auto& f : files) {
    auto one = load_yaml_file(f);
    if (!one) return one;
    patch_config(overall, one.value());
  }
  return overall;
}

Result<LoadedConfig, LoadError> load_local_configuration(const std::string& path, const EnvMap& env) {
  LoadedConfig out;
  json from_env = build_environment_configuration(env, &out.warnings);
  std::error_code ec;
  if (!path.empty() && fs::exists(path, ec)) {
    auto loaded = load_config_path(path);
    if (!loaded) return make_error(loaded.error());
    out.local = std::move(loaded).value();
    out.source = fs::is_directory(path, ec) ? ConfigSource::kDirectory : ConfigSource::kFile;
    out.path = path;
    patch_config(out.local, from_env);
    return out;
  }
  auto it = env.find(kConfigurationVariable);
  if (it != env.end() && !it->second.empty()) {
    auto root = parse_root(it->second, kConfigurationVariable);
    if (!root) return make_error(root.error());
    if (!root.value().empty()) {
      out.local = std::move(root).value();
      out.source = ConfigSource::kConfigurationVariable;
      return out;
    }
  }
  out.local = std::move(from_env);
  out.source = ConfigSource::kEnvironment;
  return out;
}

}  // namespace custos::config
