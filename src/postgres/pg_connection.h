// PgConnection: one libpq connection used synchronously by one thread, with bounded waits
// everywhere (non-blocking connect under a deadline, per-query timeout with cancel), and a
// transparent reconnect on the next call after the connection broke. Starts no threads: a
// statement that overruns its timeout is cancelled with pg_cancel_backend() over a second,
// equally bounded connection.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

struct pg_conn;  // libpq's PGconn

namespace custos::postgres {

struct ConnectionOptions {
  // Deadline for establishing the connection (also passed to libpq as connect_timeout, in whole
  // seconds, at least 2).
  std::chrono::milliseconds connect_timeout{5000};
  // Used when query() is called without an explicit timeout.
  std::chrono::milliseconds query_timeout{10000};
  // After a query timed out: how long sending the cancel (a second connection running
  // pg_cancel_backend) and waiting for the server to end the statement may take before the
  // connection is dropped instead.
  std::chrono::milliseconds cancel_grace{1000};
  // Overrides application_name from the conninfo when non-empty.
  std::string application_name = "custos";
  // TCP keepalives (ignored by libpq for Unix sockets).
  bool keepalives = true;
  int keepalives_idle_s = 10;
  int keepalives_interval_s = 5;
  int keepalives_count = 3;
};

struct PgError {
  enum class Kind {
    ConnectFailed,   // could not connect (refused, auth failure, connect deadline passed)
    ConnectionLost,  // the connection broke during the call; the next call reconnects
    Timeout,         // the query ran past its timeout (a cancel was sent)
    QueryFailed,     // the server reported an error for the statement (sqlstate set)
  };
  Kind kind;
  std::string message;
  std::string sqlstate;  // five-character SQLSTATE, for QueryFailed (and cancelled Timeout)
};

const char* to_string(PgError::Kind kind);

// A result row: one optional per column, nullopt for SQL NULL; values in text format.
using Row = std::vector<std::optional<std::string>>;

struct QueryResult {
  std::vector<std::string> columns;
  std::vector<Row> rows;
  std::string command_status;  // e.g. "SELECT 1", "CHECKPOINT"
};

// Query parameters ($1, $2, ...) in text format; nullopt binds NULL.
using Params = std::vector<std::optional<std::string>>;

class PgConnection {
 public:
  // `conninfo` in key=value or URI form; keywords set in ConnectionOptions are added to it.
  explicit PgConnection(std::string conninfo, ConnectionOptions options = {});
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Connects unless already connected and healthy. Never blocks past connect_timeout
  // (except for a host name lookup, which libpq performs synchronously).
  Status<PgError> connect();

  // Runs one statement (with $n parameters when `params` is non-empty; without parameters
  // several ';'-separated statements are allowed and the last result is returned).
  // Reconnects first if the connection is absent or found broken.
  Result<QueryResult, PgError> query(std::string_view sql, const Params& params = {},
                                     std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // First column of the first row (nullopt inner value for NULL); error if no row.
  Result<std::optional<std::string>, PgError> query_value(
      std::string_view sql, const Params& params = {},
      std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // A string literal / an identifier quoted for SQL text by libpq (PQescapeLiteral,
  // PQescapeIdentifier: they follow the server's encoding and standard_conforming_strings).
  // Connects first when needed.
  Result<std::string, PgError> escape_literal(std::string_view value);
  Result<std::string, PgError> escape_identifier(std::string_view value);

  void close();
  bool connected() const;
  // Of the current connection; 0 when not connected.
  int server_version() const;
  int backend_pid() const;
  const std::string& conninfo() const { return conninfo_; }

 private:
  bool healthy_when_idle();
  Result<QueryResult, PgError> run(std::string_view sql, const Params& params,
                                   std::chrono::milliseconds timeout);
  // pg_cancel_backend(backend_pid) over a new connection, all before `deadline`; true when the
  // server accepted the cancel.
  bool send_cancel(int backend_pid, std::chrono::steady_clock::time_point deadline);

  std::string conninfo_;
  ConnectionOptions options_;
  pg_conn* conn_ = nullptr;
};

}  // namespace custos::postgres
