// SimPgDistNode: an in-memory pg_dist_node that enforces the Citus rules the maintainer's plans
// rely on (spec/citus.md §5, checked on Citus 13): (nodename, nodeport) unique across rows; one
// primary per group; no citus_add_node / citus_remove_node in a transaction that changed a
// primary row ("metadata not synced"); removing a primary row refused; BEGIN/COMMIT/ROLLBACK
// with the rows as of BEGIN restored on ROLLBACK or on close() (the server's rollback).
// Implements PgDistNodeSql for the maintainer's tests; every statement is logged.
//
// Thread: any (one lock).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "mpp/pg_dist_node_sql.h"

namespace custos::testing {

class SimPgDistNode final : public mpp::PgDistNodeSql {
 public:
  struct Row {
    int group = 0;
    mpp::PgDistRow row;
  };

  Result<std::vector<std::pair<int, mpp::PgDistRow>>, std::string> read_rows() override;
  Result<int64_t, std::string> run(const mpp::PgDistOp& op, int group, int64_t cooldown_ms) override;
  Status<std::string> execute(std::string_view statement) override;
  void close() override;

  // Test controls and views.
  void add_row(int group, mpp::PgDistRow row);
  std::vector<mpp::PgDistRow> committed_rows(int group) const;  // as other sessions see them
  std::vector<mpp::PgDistRow> visible_rows(int group) const;    // inside our session
  bool in_transaction() const;
  // The next `n` statements fail (as if the connection broke).
  void fail_next(int n);
  std::vector<std::string> log() const;

  // The same checks as run(), on a plain list of rows (for planner tests): applies `op` to
  // `rows` of `group`; an error when Citus would refuse it. `frozen`: a primary row changed in
  // the transaction.
  static Result<int64_t, std::string> apply(std::vector<Row>& rows, const mpp::PgDistOp& op, int group, bool frozen,
                                            int64_t& next_nodeid);

 private:
  mutable std::mutex mu_;
  std::vector<Row> rows_;
  std::optional<std::vector<Row>> before_transaction_;
  bool primary_changed_ = false;
  int64_t next_nodeid_ = 1;
  int fail_next_ = 0;
  std::vector<std::string> log_;
};

}  // namespace custos::testing
