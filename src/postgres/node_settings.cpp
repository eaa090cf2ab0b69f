#include "postgres/node_settings.h"

#include "postgres/conninfo.h"
#include "common/text.h"

#include <cctype>

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
  const auto hosts = split_trimmed(listen.host, ',');
  for (std::string h : hosts) {
    for (auto& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (h == "*" || h == "0.0.0.0" || h == "127.0.0.1" || h == "localhost") return "localhost";
  }
  return hosts.empty() ? std::string() : hosts.front();
}

std::string NodeSettings::local_address(bool unix) const {
  if (!unix) return local_host();
  auto it = conf_parameters.find("unix_socket_directories");
  if (it == conf_parameters.end()) return "";  // libpq's default socket directory
  for (const auto& dir : split_trimmed(it->second, ','))
    if (!dir.empty() && dir.front() == '/') return dir;
  return local_host();
}

std::map<std::string, std::string> NodeSettings::local_connection_params(const std::string& dbname) const {
  std::map<std::string, std::string> p = superuser.extra;
  const std::string host = local_address(use_unix_socket);
  if (!host.empty()) p["host"] = host;
  p["port"] = std::to_string(listen.port);
  if (!superuser.username.empty()) p["user"] = superuser.username;
  if (superuser.password) p["password"] = *superuser.password;
  p["dbname"] = dbname.empty() ? database : dbname;
  return p;
}

std::string NodeSettings::local_conninfo(const std::string& dbname) const {
  const auto params = local_connection_params(dbname);
  std::string ci;
  for (const auto& [k, v] : params) {
    // A keyword newer than the linked libpq (sslnegotiation before 17) would fail every
    // connection; it is left out here (the agent warns about it at start-up).
    if (!libpq_knows_keyword(k)) continue;
    if (!ci.empty()) ci += ' ';
    ci += k + "=" + quote_conninfo_value(v);
  }
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
