#include "mpp/pg_dist_node_sql.h"

#include <charconv>

namespace custos::mpp {

using namespace std::chrono_literals;

namespace {

postgres::ConnectionOptions maintainer_options() {
  postgres::ConnectionOptions o;
  o.connect_timeout = 5s;
  o.query_timeout = 60s;
  o.application_name = "custos citus";
  return o;
}

std::string with_session_options(std::string conninfo) {
  return conninfo + " options='-c statement_timeout=0 -c idle_in_transaction_session_timeout=0'";
}

std::optional<int64_t> to_int(const std::optional<std::string>& v) {
  if (!v) return std::nullopt;
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || p != v->data() + v->size()) return std::nullopt;
  return out;
}

}  // namespace

LibpqPgDistNodeSql::LibpqPgDistNodeSql(std::string conninfo)
    : conn_(with_session_options(std::move(conninfo)), maintainer_options()) {}

bool LibpqPgDistNodeSql::same_session() const {
  return transaction_backend_ == 0 || (conn_.connected() && conn_.backend_pid() == transaction_backend_);
}

Result<std::vector<std::pair<int, PgDistRow>>, std::string> LibpqPgDistNodeSql::read_rows() {
  auto r = conn_.query("SELECT groupid, nodename, nodeport, noderole, nodeid FROM pg_catalog.pg_dist_node");
  if (!r) return make_error("reading pg_dist_node: " + r.error().message);
  std::vector<std::pair<int, PgDistRow>> out;
  for (const auto& row : r->rows) {
    auto group = to_int(row.at(0));
    auto port = to_int(row.at(2));
    auto nodeid = to_int(row.at(4));
    if (!group || !port || !nodeid || !row.at(1)) return make_error(std::string("reading pg_dist_node: unexpected row"));
    out.emplace_back(static_cast<int>(*group),
                     PgDistRow{*nodeid, NodeAddress{*row.at(1), static_cast<int>(*port)}, row.at(3).value_or("")});
  }
  return out;
}

Result<int64_t, std::string> LibpqPgDistNodeSql::run(const PgDistOp& op, int group, int64_t cooldown_ms) {
  if (!same_session()) return make_error(std::string("the connection of the open transaction was lost"));
  const std::string port = std::to_string(op.address.port);
  Result<postgres::QueryResult, postgres::PgError> r = make_error(postgres::PgError{});
  switch (op.kind) {
    case PgDistOp::Kind::update:
      r = conn_.query("SELECT pg_catalog.citus_update_node($1::integer, $2, $3::integer, true, $4::integer)",
                      {std::to_string(op.nodeid), op.address.host, port, std::to_string(cooldown_ms)});
      break;
    case PgDistOp::Kind::add:
      r = conn_.query("SELECT pg_catalog.citus_add_node($1, $2::integer, $3::integer, $4::noderole, 'default')",
                      {op.address.host, port, std::to_string(group), op.role});
      break;
    case PgDistOp::Kind::remove:
      r = conn_.query("SELECT pg_catalog.citus_remove_node($1, $2::integer)", {op.address.host, port});
      break;
  }
  if (!r) return make_error(op.describe() + ": " + r.error().message);
  if (op.kind != PgDistOp::Kind::add) return int64_t{0};
  auto id = r->rows.empty() ? std::nullopt : to_int(r->rows.front().at(0));
  if (!id) return make_error(op.describe() + ": no node id returned");
  return *id;
}

Status<std::string> LibpqPgDistNodeSql::execute(std::string_view statement) {
  const bool begin = statement == "BEGIN";
  if (!begin && !same_session()) {
    transaction_backend_ = 0;
    return make_error(std::string("the connection of the open transaction was lost"));
  }
  auto r = conn_.query(statement);
  if (!r) return make_error(std::string(statement) + ": " + r.error().message);
  transaction_backend_ = begin ? conn_.backend_pid() : 0;
  return Unit{};
}

void LibpqPgDistNodeSql::close() {
  conn_.close();
  transaction_backend_ = 0;
}

}  // namespace custos::mpp
