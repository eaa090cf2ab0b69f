#include "postgres/initdb.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include "postgres/file_util.h"
#include "common/process.h"
#include "common/logging.h"

namespace custos::postgres {

const std::vector<std::string> kForbiddenInitdbOptions = {"pgdata", "nosync", "pwfile", "sync-only", "version"};

namespace {
bool forbidden(const std::string& name) {
  return std::find(kForbiddenInitdbOptions.begin(), kForbiddenInitdbOptions.end(), name) !=
         kForbiddenInitdbOptions.end();
}

std::string unquote(std::string v) {
  if (v.size() >= 2 && (v.front() == '\'' || v.front() == '"') && v.back() == v.front())
    return v.substr(1, v.size() - 2);
  return v;
}

std::optional<std::string> scalar_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? std::string("true") : std::string("false");
  if (v.is_number()) return v.dump();
  return std::nullopt;
}
}  // namespace

Result<std::vector<InitdbOption>, std::string> parse_initdb_options(const nlohmann::json& config) {
  std::vector<InitdbOption> out;
  if (config.is_null()) return out;
  auto refuse = [](const std::string& name) { return make_error(name + " option for initdb is not allowed"); };
  if (config.is_object()) {
    for (const auto& [key, val] : config.items()) {
      if (key.empty() || val.is_null() || (val.is_boolean() && !val.get<bool>()) ||
          (val.is_string() && val.get<std::string>().empty()))
        continue;
      if (forbidden(key)) return refuse(key);
      auto text = scalar_text(val);
      if (!text) return make_error("Error when parsing initdb option " + key + ": value should be a scalar");
      out.push_back({key, unquote(*text)});
    }
    return out;
  }
  if (!config.is_array()) return make_error(std::string("initdb options must be list or dict"));
  for (const auto& item : config) {
    if (item.is_string()) {
      std::string name = item.get<std::string>();
      if (forbidden(name)) return refuse(name);
      out.push_back({name, std::nullopt});
    } else if (item.is_object()) {
      if (item.size() != 1 || !item.begin().value().is_string())
        return make_error("Error when parsing initdb key-value option " + item.dump() +
                          ": only one key-value is allowed and value should be a string");
      std::string name = item.begin().key();
      if (forbidden(name)) return refuse(name);
      out.push_back({name, unquote(item.begin().value().get<std::string>())});
    } else {
      return make_error("Error when parsing initdb option " + item.dump() +
                        ": value should be string value or a single key-value pair");
    }
  }
  return out;
}

Result<std::vector<std::string>, std::string> render_initdb_options(const std::vector<InitdbOption>& options) {
  std::vector<std::string> out;
  for (const auto& o : options) {
    if (o.name.empty() || o.name.front() == '-') return make_error("invalid initdb option name '" + o.name + "'");
    if (forbidden(o.name)) return make_error(o.name + " option for initdb is not allowed");
    out.push_back(o.value ? "--" + o.name + "=" + *o.value : "--" + o.name);
  }
  return out;
}

Result<std::vector<std::string>, std::string> initdb_command(const InitdbRequest& r, const std::string& pwfile) {
  auto opts = render_initdb_options(r.options);
  if (!opts) return make_error(opts.error());
  std::vector<std::string> argv{r.initdb_bin};
  for (auto& o : opts.value()) argv.push_back(std::move(o));
  if (!r.superuser.empty()) argv.push_back("--username=" + r.superuser);
  if (!pwfile.empty()) argv.push_back("--pwfile=" + pwfile);
  argv.push_back("--pgdata=" + r.data_dir);
  return argv;
}

Status<std::string> run_initdb(const InitdbRequest& r, ProcessRunner& runner) {
  if (r.data_dir.empty()) return make_error(std::string("initdb: no data directory"));
  std::string pwfile;
  if (r.superuser_password) {
    std::string dir = r.temp_dir;
    if (dir.empty()) {
      const char* t = std::getenv("TMPDIR");
      dir = (t && *t) ? t : "/tmp";
    }
    std::string tmpl = dir + "/custos-pwfile-XXXXXX";
    int fd = ::mkstemp(tmpl.data());
    if (fd < 0) return make_error("cannot create password file in " + dir);
    ::close(fd);
    pwfile = tmpl;
    try {
      write_file_atomic(pwfile, *r.superuser_password + "\n", 0600);
    } catch (const std::exception& e) {
      ::unlink(pwfile.c_str());
      return make_error(std::string(e.what()));
    }
  }
  struct Remove {
    std::string path;
    ~Remove() {
      if (!path.empty()) ::unlink(path.c_str());
    }
  } remove{pwfile};
  auto argv = initdb_command(r, pwfile);
  if (!argv) return make_error(argv.error());
  RunOptions ro;
  ro.cancel = &r.cancel;
  ro.timeout = r.timeout;
  ro.on_output_line = log_child_output("initdb");
  auto res = runner.run(argv.value(), ro);
  if (!res) return make_error(res.error());
  if (!res->success()) return make_error("initdb " + res->describe() + ": " + res->err + res->out);
  return Unit{};
}

}  // namespace custos::postgres
