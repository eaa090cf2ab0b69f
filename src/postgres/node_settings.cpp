#include "postgres/node_settings.h"

#include "postgres/conninfo.h"

namespace custos::postgres {

using nlohmann::json;

HostPort parse_host_port(const std::string& text, int default_port) {
  HostPort hp;
  hp.port = default_port;
  auto port_of = [&](const std::string& p) {
    try {
      if (!p.empty()) hp.port = std::stoi(p);
    } catch (...) {
    }
  };
  if (!text.empty() && text[0] == '[') {
    auto b = text.find(']');
    if (b == std::string::npos) {
      hp.host = text;
      return hp;
    }
    hp.host = text.substr(1, b - 1);
    if (b + 1 < text.size() && text[b + 1] == ':') port_of(text.substr(b + 2));
    return hp;
  }
  auto c = text.rfind(':');
  if (c != std::string::npos && text.find(':') == c) {
    hp.host = text.substr(0, c);
    port_of(text.substr(c + 1));
  } else {
    hp.host = text;
  }
  return hp;
}

std::string parameter_value(const json& value) {
  if (value.is_boolean()) return value.get<bool>() ? "on" : "off";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return value.dump();
}

std::string NodeSettings::local_host() const {
  std::string first = listen.host.substr(0, listen.host.find(','));
  while (!first.empty() && first.front() == ' ') first.erase(first.begin());
  while (!first.empty() && first.back() == ' ') first.pop_back();
  if (first.empty() || first == "*" || first == "0.0.0.0") return "127.0.0.1";
  if (first == "::") return "::1";
  return first;
}

std::string NodeSettings::local_conninfo(const std::string& dbname) const {
  const auto q = [](const std::string& v) { return quote_conninfo_value(v); };
  std::string ci = "host=" + q(local_host()) + " port=" + std::to_string(listen.port) +
                   " dbname=" + q(dbname.empty() ? database : dbname);
  if (!superuser.username.empty()) ci += " user=" + q(superuser.username);
  if (superuser.password) ci += " password=" + q(*superuser.password);
  return ci;
}

std::string NodeSettings::conn_url() const {
  std::string host = connect_address.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "postgres://" + host + ":" + std::to_string(connect_address.port) + "/" + database;
}

std::string NodeSettings::log_file() const {
  std::string d = data_dir;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  return d + ".log";
}

std::map<std::string, std::string> NodeSettings::effective_conf_parameters() const {
  std::map<std::string, std::string> out = conf_parameters;
  if (managed_synchronous_standby_names) {
    if (managed_synchronous_standby_names->empty()) out.erase("synchronous_standby_names");
    else out["synchronous_standby_names"] = *managed_synchronous_standby_names;
  }
  return out;
}

}  // namespace custos::postgres
