#include "postgres/pg_connection.h"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <thread>

namespace custos::postgres {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

const char* to_string(PgError::Kind kind) {
  switch (kind) {
    case PgError::Kind::ConnectFailed: return "connect failed";
    case PgError::Kind::ConnectionLost: return "connection lost";
    case PgError::Kind::Timeout: return "timeout";
    case PgError::Kind::QueryFailed: return "query failed";
  }
  return "unknown";
}

namespace {

std::string trimmed(const char* s) {
  std::string out = s ? s : "";
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

PgError make(PgError::Kind kind, std::string message, std::string sqlstate = {}) {
  return PgError{kind, std::move(message), std::move(sqlstate)};
}

int remaining_ms(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left > 60'000 ? 60'000 : static_cast<int>(left);
}

// Waits for `events` on fd until the deadline. Returns revents, 0 on timeout, -1 on error.
int wait_fd(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    int ms = remaining_ms(deadline);
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, ms);
    if (r > 0) return p.revents;
    if (r == 0) {
      if (Clock::now() >= deadline) return 0;
      continue;  // the 60 s cap of one poll
    }
    if (errno == EINTR) continue;
    return -1;
  }
}

void notice_processor(void*, const char* message) { spdlog::debug("postgres notice: {}", trimmed(message)); }

}  // namespace

PgConnection::PgConnection(std::string conninfo, ConnectionOptions options)
    : conninfo_(std::move(conninfo)), options_(std::move(options)) {}

PgConnection::~PgConnection() { close(); }

void PgConnection::close() {
  if (conn_ != nullptr) {
    PQfinish(conn_);
    conn_ = nullptr;
  }
}

bool PgConnection::connected() const { return conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK; }

int PgConnection::server_version() const { return connected() ? PQserverVersion(conn_) : 0; }

int PgConnection::backend_pid() const { return connected() ? PQbackendPID(conn_) : 0; }

namespace {

using EscapeFn = char* (*)(PGconn*, const char*, size_t);

Result<std::string, PgError> escape_with(PGconn* conn, EscapeFn fn, std::string_view value) {
  char* out = fn(conn, value.data(), value.size());
  if (out == nullptr)
    return make_error(PgError{PgError::Kind::QueryFailed, "cannot escape a value: " + trimmed(PQerrorMessage(conn)), ""});
  std::string s(out);
  PQfreemem(out);
  return s;
}

}  // namespace

Result<std::string, PgError> PgConnection::escape_literal(std::string_view value) {
  if (auto st = connect(); !st) return make_error(st.error());
  return escape_with(conn_, PQescapeLiteral, value);
}

Result<std::string, PgError> PgConnection::escape_identifier(std::string_view value) {
  if (auto st = connect(); !st) return make_error(st.error());
  return escape_with(conn_, PQescapeIdentifier, value);
}

// An idle connection whose server went away has its socket readable (FATAL message / EOF):
// consume it so that libpq notices, without blocking.
bool PgConnection::healthy_when_idle() {
  if (!connected()) return false;
  if (PQtransactionStatus(conn_) != PQTRANS_IDLE && PQtransactionStatus(conn_) != PQTRANS_INTRANS &&
      PQtransactionStatus(conn_) != PQTRANS_INERROR)
    return false;
  pollfd p{PQsocket(conn_), POLLIN, 0};
  int r = ::poll(&p, 1, 0);
  if (r > 0) {
    if (p.revents & (POLLERR | POLLNVAL)) return false;
    if (!PQconsumeInput(conn_)) return false;
    while (PGnotify* n = PQnotifies(conn_)) PQfreemem(n);
  }
  return PQstatus(conn_) == CONNECTION_OK;
}

Status<PgError> PgConnection::connect() {
  if (healthy_when_idle()) return Unit{};
  close();

  const auto deadline = Clock::now() + options_.connect_timeout;
  long timeout_s = (options_.connect_timeout.count() + 999) / 1000;
  if (timeout_s < 2) timeout_s = 2;

  std::vector<std::pair<std::string, std::string>> kv;
  if (options_.keepalives) {
    kv.emplace_back("keepalives", "1");
    kv.emplace_back("keepalives_idle", std::to_string(options_.keepalives_idle_s));
    kv.emplace_back("keepalives_interval", std::to_string(options_.keepalives_interval_s));
    kv.emplace_back("keepalives_count", std::to_string(options_.keepalives_count));
  }
  kv.emplace_back("dbname", conninfo_);  // expanded: its keywords override the defaults above
  kv.emplace_back("connect_timeout", std::to_string(timeout_s));
  if (!options_.application_name.empty()) kv.emplace_back("application_name", options_.application_name);
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : kv) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);

  PGconn* c = PQconnectStartParams(keys.data(), values.data(), 1);
  if (c == nullptr) return make_error(make(PgError::Kind::ConnectFailed, "out of memory"));
  if (PQstatus(c) == CONNECTION_BAD) {
    auto err = make(PgError::Kind::ConnectFailed, trimmed(PQerrorMessage(c)));
    PQfinish(c);
    return make_error(std::move(err));
  }
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED) {
      auto err = make(PgError::Kind::ConnectFailed, trimmed(PQerrorMessage(c)));
      PQfinish(c);
      return make_error(std::move(err));
    }
    int r = wait_fd(PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
    if (r == 0) {
      PQfinish(c);
      return make_error(make(PgError::Kind::ConnectFailed,
                             "timeout expired after " + std::to_string(options_.connect_timeout.count()) +
                                 " ms while connecting"));
    }
    if (r < 0) {
      PQfinish(c);
      return make_error(make(PgError::Kind::ConnectFailed, "poll() failed while connecting"));
    }
    st = PQconnectPoll(c);
  }
  PQsetNoticeProcessor(c, notice_processor, nullptr);
  if (PQsetnonblocking(c, 1) != 0) {
    auto err = make(PgError::Kind::ConnectFailed, "cannot set non-blocking mode: " + trimmed(PQerrorMessage(c)));
    PQfinish(c);
    return make_error(std::move(err));
  }
  conn_ = c;
  return Unit{};
}

Result<QueryResult, PgError> PgConnection::query(std::string_view sql, const Params& params,
                                                 std::optional<milliseconds> timeout) {
  if (auto st = connect(); !st) return make_error(st.error());
  return run(sql, params, timeout.value_or(options_.query_timeout));
}

Result<std::optional<std::string>, PgError> PgConnection::query_value(std::string_view sql, const Params& params,
                                                                      std::optional<milliseconds> timeout) {
  auto r = query(sql, params, timeout);
  if (!r) return make_error(r.error());
  if (r->rows.empty() || r->rows.front().empty())
    return make_error(make(PgError::Kind::QueryFailed, "query returned no rows"));
  return r->rows.front().front();
}

bool PgConnection::send_cancel(int backend_pid, Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  if (left <= milliseconds(0) || backend_pid <= 0) return false;
  ConnectionOptions o = options_;
  o.connect_timeout = left;
  o.query_timeout = left;
  o.cancel_grace = milliseconds(0);  // no cancel of the cancel
  o.application_name = options_.application_name + " (cancel)";
  PgConnection canceller(conninfo_, o);
  auto r = canceller.query_value("SELECT pg_catalog.pg_cancel_backend($1)", {std::to_string(backend_pid)}, left);
  return r.ok() && r.value() && *r.value() == "t";
}

Result<QueryResult, PgError> PgConnection::run(std::string_view sql, const Params& params, milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  auto lost = [this](const std::string& what) {
    std::string msg = what + ": " + trimmed(PQerrorMessage(conn_));
    close();
    return make_error(make(PgError::Kind::ConnectionLost, msg));
  };

  std::string text(sql);
  int sent;
  if (params.empty()) {
    sent = PQsendQuery(conn_, text.c_str());
  } else {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    sent = PQsendQueryParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                             nullptr, 0);
  }
  if (!sent) return lost("cannot send query");

  // Flush the (possibly large) query without blocking past the deadline.
  for (;;) {
    int f = PQflush(conn_);
    if (f == 0) break;
    if (f < 0) return lost("cannot send query");
    int r = wait_fd(PQsocket(conn_), POLLIN | POLLOUT, deadline);
    if (r <= 0) {
      close();
      return make_error(make(PgError::Kind::Timeout, "timeout while sending query"));
    }
    if ((r & POLLIN) && !PQconsumeInput(conn_)) return lost("connection broken");
  }

  std::optional<QueryResult> result;
  std::optional<PgError> error;
  auto collect = [&](PGresult* res) {
    ExecStatusType s = PQresultStatus(res);
    if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK || s == PGRES_EMPTY_QUERY) {
      QueryResult q;
      int nf = PQnfields(res), nt = PQntuples(res);
      for (int i = 0; i < nf; ++i) q.columns.emplace_back(PQfname(res, i));
      q.rows.reserve(static_cast<size_t>(nt));
      for (int r = 0; r < nt; ++r) {
        Row row;
        row.reserve(static_cast<size_t>(nf));
        for (int i = 0; i < nf; ++i) {
          if (PQgetisnull(res, r, i)) row.emplace_back(std::nullopt);
          else row.emplace_back(std::string(PQgetvalue(res, r, i), static_cast<size_t>(PQgetlength(res, r, i))));
        }
        q.rows.push_back(std::move(row));
      }
      q.command_status = PQcmdStatus(res);
      result = std::move(q);
    } else if (!error) {
      const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
      std::string msg = trimmed(PQresultErrorMessage(res));
      if (msg.empty()) msg = std::string("unexpected result status ") + PQresStatus(s);
      error = make(PgError::Kind::QueryFailed, msg, state ? state : "");
    }
    PQclear(res);
  };

  bool timed_out = false;
  bool cancel_delivered = false;
  for (;;) {
    bool finished = false;
    while (!PQisBusy(conn_)) {
      PGresult* res = PQgetResult(conn_);
      if (res == nullptr) {
        finished = true;
        break;
      }
      ExecStatusType s = PQresultStatus(res);
      if (s == PGRES_COPY_IN || s == PGRES_COPY_OUT || s == PGRES_COPY_BOTH) {
        PQclear(res);
        close();
        return make_error(make(PgError::Kind::QueryFailed, "COPY is not supported by PgConnection::query"));
      }
      collect(res);
    }
    if (finished) break;
    if (PQstatus(conn_) == CONNECTION_BAD) return lost("connection broken");

    int r = wait_fd(PQsocket(conn_), POLLIN, deadline);
    if (r < 0) return lost("poll() failed");
    if (r == 0) {
      if (timed_out) {
        // The server did not answer the cancel in time: give the connection up.
        close();
        return make_error(make(PgError::Kind::Timeout, "query timed out after " + std::to_string(timeout.count()) +
                                                           " ms (cancel unanswered, connection dropped)"));
      }
      timed_out = true;
      // Ask the server to cancel the statement over a second connection, everything bounded
      // by cancel_grace (PQcancel of libpq 15 blocks without a deadline, and no thread may be
      // started for it): pg_cancel_backend(our backend pid) as the same role.
      cancel_delivered = send_cancel(PQbackendPID(conn_), Clock::now() + options_.cancel_grace);
      deadline = Clock::now() + options_.cancel_grace;
      continue;
    }
    if (!PQconsumeInput(conn_)) return lost("connection broken");
  }

  if (PQstatus(conn_) == CONNECTION_BAD) return lost("connection broken");
  if (timed_out) {
    // A cancel that was not delivered may still be in flight and hit the next statement on
    // this backend: drop the connection then.
    if (!cancel_delivered) close();
    std::string state = error ? error->sqlstate : std::string();
    return make_error(make(PgError::Kind::Timeout, "query timed out after " + std::to_string(timeout.count()) + " ms",
                           state));
  }
  if (error) return make_error(std::move(*error));
  if (!result) return QueryResult{};
  return std::move(*result);
}

}  // namespace custos::postgres
