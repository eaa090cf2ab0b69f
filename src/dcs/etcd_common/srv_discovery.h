// DNS SRV discovery of etcd endpoints (the `srv` and `srv_suffix` settings), in Patroni's order:
// the record sets _etcd-client-ssl, _etcd-client, _etcd-ssl, _etcd, _etcd-server-ssl and
// _etcd-server (each with "-<srv_suffix>" appended when a suffix is set) under ._tcp.<srv>; the
// first set that yields anything wins. Client records give endpoints directly (https for the
// "-ssl" sets); server (peer) records are asked `GET /members` for their members' clientURLs.
//
// Thread: any. Blocking: DNS queries (the system resolver's timeouts, or ~2 s per query for a
// given nameserver) and the peers' answers (their client's timeout). Errors: none thrown; an
// empty result means nothing was found.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace custos::dcs::etcd_common {

struct SrvTarget {
  std::string host;  // without the trailing '.'
  int port = 0;
  bool operator==(const SrvTarget&) const = default;
};

// Looks up the SRV records of one name; empty when there are none or the lookup failed.
class SrvResolver {
 public:
  virtual ~SrvResolver() = default;
  virtual std::vector<SrvTarget> lookup(const std::string& name) = 0;
};

// The system resolver (/etc/resolv.conf), or one nameserver given as IPv4 address and port.
class DnsSrvResolver final : public SrvResolver {
 public:
  DnsSrvResolver() = default;
  DnsSrvResolver(std::string nameserver_ipv4, int port);
  std::vector<SrvTarget> lookup(const std::string& name) override;

 private:
  std::optional<std::pair<std::string, int>> nameserver_;
};

// The clientURLs a peer URL's `GET <url>` (/members) lists; empty when it cannot be asked.
using PeerMembersQuery = std::function<std::vector<std::string>(const std::string& members_url)>;

// Endpoints (base URLs, no trailing '/') found for `srv`; empty when none.
std::vector<std::string> discover_etcd_endpoints(const std::string& srv, const std::string& srv_suffix,
                                                 SrvResolver& resolver, const PeerMembersQuery& peer_members);

}  // namespace custos::dcs::etcd_common
