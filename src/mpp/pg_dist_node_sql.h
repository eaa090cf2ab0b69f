// PgDistNodeSql: the statements the coordinator's pg_dist_node maintainer runs, on its own
// connection to citus.database (spec/citus.md §5). LibpqPgDistNodeSql is the real one: a
// local superuser connection with statement_timeout=0 and idle_in_transaction_session_timeout=0
// (the transaction a worker switchover keeps open must survive until it ends); tests use a fake.
//
// Thread: one (the maintainer's). Blocking: each call up to the connection's timeouts (connect
// 5 s, a statement 60 s: citus_update_node with force waits up to its lock_cooldown).
// Errors: a message naming the statement; the caller then closes the connection (an open
// transaction is gone with it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "mpp/pg_dist_node.h"
#include "postgres/pg_connection.h"

namespace custos::mpp {

class PgDistNodeSql {
 public:
  virtual ~PgDistNodeSql() = default;
  // Every row of pg_dist_node with its groupid.
  virtual Result<std::vector<std::pair<int, PgDistRow>>, std::string> read_rows() = 0;
  // Runs `op` for `group`; the new nodeid for an add (0 otherwise).
  virtual Result<int64_t, std::string> run(const PgDistOp& op, int group, int64_t cooldown_ms) = 0;
  // BEGIN, COMMIT or ROLLBACK.
  virtual Status<std::string> execute(std::string_view statement) = 0;
  virtual void close() = 0;
};

class LibpqPgDistNodeSql final : public PgDistNodeSql {
 public:
  // `conninfo`: the local superuser's connection to citus.database.
  explicit LibpqPgDistNodeSql(std::string conninfo);
  Result<std::vector<std::pair<int, PgDistRow>>, std::string> read_rows() override;
  Result<int64_t, std::string> run(const PgDistOp& op, int group, int64_t cooldown_ms) override;
  Status<std::string> execute(std::string_view statement) override;
  void close() override;

 private:
  // The statement must run in the session that began the transaction: a connection that broke
  // and came back (PgConnection reconnects by itself) would run it outside of it.
  bool same_session() const;

  postgres::PgConnection conn_;
  int transaction_backend_ = 0;  // backend pid of the open transaction, 0 when none
};

}  // namespace custos::mpp
