// Helpers for the configuration tests: a temporary directory removed at the end of the test.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "config/yaml.h"

namespace custos::config::testing {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "custos-config-XXXXXX").string();
    char* p = ::mkdtemp(tmpl.data());
    path_ = p ? p : tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return (std::filesystem::path(path_) / name).string(); }
  std::string write(const std::string& name, const std::string& text) const {
    std::string f = file(name);
    std::filesystem::create_directories(std::filesystem::path(f).parent_path());
    std::ofstream(f, std::ios::binary) << text;
    return f;
  }

 private:
  std::string path_;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::string fixture_path(const std::string& name) { return std::string(CUSTOS_CONFIG_TEST_DATA) + "/" + name; }

inline nlohmann::json yaml(const std::string& text) { return parse_yaml(text).value(); }

}  // namespace custos::config::testing
