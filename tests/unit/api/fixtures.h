// Snapshots of typical situations (primary, replica, standby leader, ...) and a helper that runs
// one request through the handler.
#pragma once

#include <string>

#include "api/handler.h"
#include "test_source.h"

namespace custos::api::test {

using nlohmann::json;

inline constexpr double kNow = 1700000000.0;

// A cluster: node1 holds the lock, node2 and node3 are replicas; optime 100000.
inline dcs::Cluster make_cluster(const std::string& config = R"({"ttl":30,"loop_wait":10})",
                                 const std::string& sync = "", const std::string& extra_member3 = "",
                                 bool with_leader = true) {
  dcs::RawNodes nodes = {
      node("members/node1",
           R"({"conn_url":"postgres://10.0.0.1:5432/postgres","api_url":"http://10.0.0.1:8008/patroni",)"
           R"("state":"running","role":"primary","version":"3.3.1","timeline":2,"xlog_location":100000})"),
      node("members/node2",
           R"({"conn_url":"postgres://10.0.0.2:5433/postgres","api_url":"http://10.0.0.2:8008/patroni",)"
           R"("state":"running","role":"replica","version":"3.3.1","timeline":2,"xlog_location":98000,)"
           R"("replication_state":"streaming","tags":{"zone":"a"}})"),
      node("members/node3",
           R"({"conn_url":"postgres://node3.example:5432/postgres","api_url":"http://172.16.0.5:8008/patroni",)"
           R"("state":"starting","role":"replica","version":"3.3.1")" +
               extra_member3 + "}"),
      node("config", config),
      node("status", R"({"optime":100000,"slots":{}})"),
      node("history", R"([[1,25165984,"no recovery target specified","2023-11-14T22:13:20+00:00","node1"]])"),
  };
  if (with_leader) nodes.push_back(node("leader", "node1"));
  if (!sync.empty()) nodes.push_back(node("sync", sync));
  return dcs::Cluster::from_nodes(nodes);
}

inline NodeSnapshot base_snapshot(const std::string& name) {
  NodeSnapshot s;
  s.name = name;
  s.scope = "demo";
  s.presentation = PatroniGeneration::v3_3;  // the 3.3 answers of spec/rest-api.md; 4.1 in patroni4_test
  s.patroni_version = "3.3.1";
  s.ttl = 30;
  s.loop_wait = 10;
  s.cluster = std::make_shared<const dcs::Cluster>(make_cluster());
  s.cluster_loaded_at = kNow - 1;
  s.dcs_last_seen = kNow - 1;
  s.next_run = kNow + 5;
  s.database_system_identifier = "7301234567890123456";
  return s;
}

inline NodeSnapshot primary_snapshot() {
  NodeSnapshot s = base_snapshot("node1");
  s.leader_lock_valid_until = kNow + 29;
  s.pg.state = "running";
  s.pg.role = "master";
  s.pg.query_ok = true;
  s.pg.postmaster_start_time = "2023-11-14 22:13:20.500000+00:00";
  s.pg.server_version = 150004;
  s.pg.in_recovery = false;
  s.pg.flush_lsn = 100000;
  s.pg.timeline = 2;
  s.pg.replication = {{"replicator", "node2", "10.0.0.2", "streaming", "async", 0}};
  s.pg.sampled_at = kNow - 1;
  return s;
}

inline NodeSnapshot replica_snapshot() {
  NodeSnapshot s = base_snapshot("node2");
  s.pg.state = "running";
  s.pg.role = "replica";
  s.pg.query_ok = true;
  s.pg.postmaster_start_time = "2023-11-14 22:13:21.000000+00:00";
  s.pg.server_version = 150004;
  s.pg.in_recovery = true;
  s.pg.receive_lsn = 99000;
  s.pg.replay_lsn = 98000;
  s.pg.replayed_timestamp = "2023-11-14 22:20:00.250000+00:00";
  s.pg.timeline = 2;
  s.pg.replication_state = "streaming";
  s.tags = json{{"zone", "a"}, {"nofailover", true}, {"weight", 1.4}, {"priority", 3}};
  return s;
}

// A standby cluster's leader: holds the lock, PostgreSQL in recovery, internal role standby_leader.
inline NodeSnapshot standby_leader_snapshot() {
  NodeSnapshot s = replica_snapshot();
  s.name = "node1";
  s.standby_cluster = true;
  s.pg.role = "standby_leader";
  s.leader_lock_valid_until = kNow + 29;
  s.cluster = std::make_shared<const dcs::Cluster>(make_cluster(R"({"ttl":30,"standby_cluster":{"host":"10.9.9.9","port":5432}})"));
  return s;
}

inline Request make_request(const std::string& method, const std::string& target, std::string peer = "127.0.0.1") {
  Request r;
  r.method = method;
  r.target = target;
  r.peer_address = std::move(peer);
  if (!r.parse_target()) throw std::runtime_error("bad target in test: " + target);
  return r;
}

inline Response run(TestSource& src, const std::string& method, const std::string& target,
                    const RequestHandler& handler = RequestHandler()) {
  return handler.handle(make_request(method, target), src, kNow);
}

inline int code(TestSource& src, const std::string& target, const std::string& method = "GET") {
  return run(src, method, target).status;
}

}  // namespace custos::api::test
