#include "dcs/etcd_common/srv_discovery.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>

#include <algorithm>
#include <cstring>

namespace custos::dcs::etcd_common {

DnsSrvResolver::DnsSrvResolver(std::string nameserver_ipv4, int port)
    : nameserver_(std::make_pair(std::move(nameserver_ipv4), port)) {}

std::vector<SrvTarget> DnsSrvResolver::lookup(const std::string& name) {
  struct __res_state state;
  std::memset(&state, 0, sizeof state);
  if (res_ninit(&state) != 0) return {};
  if (nameserver_) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(nameserver_->second));
    if (inet_pton(AF_INET, nameserver_->first.c_str(), &addr.sin_addr) != 1) {
      res_nclose(&state);
      return {};
    }
    state.nscount = 1;
    state.nsaddr_list[0] = addr;
    state.retrans = 1;
    state.retry = 2;
  }
  std::vector<unsigned char> answer(NS_MAXMSG);
  const int len = res_nquery(&state, name.c_str(), ns_c_in, ns_t_srv, answer.data(), static_cast<int>(answer.size()));
  res_nclose(&state);
  if (len <= 0) return {};
  ns_msg msg;
  if (ns_initparse(answer.data(), len, &msg) < 0) return {};
  std::vector<SrvTarget> out;
  const int count = ns_msg_count(msg, ns_s_an);
  for (int i = 0; i < count; ++i) {
    ns_rr rr;
    if (ns_parserr(&msg, ns_s_an, i, &rr) < 0) continue;
    if (ns_rr_type(rr) != ns_t_srv || ns_rr_rdlen(rr) < 7) continue;
    const unsigned char* rd = ns_rr_rdata(rr);
    SrvTarget t;
    t.port = ns_get16(rd + 4);
    char target[NS_MAXDNAME];
    if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), rd + 6, target, sizeof target) < 0) continue;
    t.host = target;
    while (!t.host.empty() && t.host.back() == '.') t.host.pop_back();
    if (!t.host.empty()) out.push_back(std::move(t));
  }
  return out;
}

namespace {

std::string url_of(const std::string& protocol, const SrvTarget& t) {
  const bool v6 = t.host.find(':') != std::string::npos;
  return protocol + "://" + (v6 ? "[" + t.host + "]" : t.host) + ":" + std::to_string(t.port);
}

}  // namespace

std::vector<std::string> discover_etcd_endpoints(const std::string& srv, const std::string& srv_suffix,
                                                 SrvResolver& resolver, const PeerMembersQuery& peer_members) {
  for (std::string set : {"-client-ssl", "-client", "-ssl", "", "-server-ssl", "-server"}) {
    if (!srv_suffix.empty()) set += "-" + srv_suffix;
    const std::string protocol = set.find("-ssl") != std::string::npos ? "https" : "http";
    const bool peers = set.find("-server") != std::string::npos;
    std::vector<std::string> found;
    for (const SrvTarget& t : resolver.lookup("_etcd" + set + "._tcp." + srv)) {
      if (!peers) {
        found.push_back(url_of(protocol, t));
        continue;
      }
      // A peer: its members' client URLs (the first peer that answers is enough).
      std::vector<std::string> client_urls = peer_members ? peer_members(url_of(protocol, t) + "/members")
                                                          : std::vector<std::string>{};
      if (client_urls.empty()) continue;
      found.insert(found.end(), client_urls.begin(), client_urls.end());
      break;
    }
    std::vector<std::string> unique;
    for (std::string& u : found) {
      while (!u.empty() && u.back() == '/') u.pop_back();
      if (!u.empty() && std::find(unique.begin(), unique.end(), u) == unique.end()) unique.push_back(u);
    }
    if (!unique.empty()) return unique;
  }
  return {};
}

}  // namespace custos::dcs::etcd_common
