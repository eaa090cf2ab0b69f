// The closed set of ways a DCS call can fail, as values (see DEVELOPERS.md: failure is normal here).
#pragma once

#include <string>

#include "common/result.h"

namespace custos::dcs {

enum class DcsErrorKind {
  // No answer within the deadline (retry_timeout), connection refused, no endpoint reachable.
  kUnreachable,
  // A compare-and-set found another version than the one we expected; nothing was written.
  kCasConflict,
  // The leader lock is held by another member. The ONLY error that means "we lost the lock".
  kLockOwnedByOther,
  // Authentication or permission failure (bad user/password, TLS client cert refused).
  kAuth,
  // The store answered something we cannot interpret (bad JSON, missing fields, HTTP 4xx).
  kMalformedReply,
};

const char* to_string(DcsErrorKind kind);

struct DcsError {
  DcsErrorKind kind;
  std::string message;

  bool is(DcsErrorKind k) const { return kind == k; }
  std::string describe() const { return std::string(to_string(kind)) + ": " + message; }
};

template <class T>
using DcsResult = Result<T, DcsError>;
using DcsStatus = Status<DcsError>;

inline Err<DcsError> dcs_error(DcsErrorKind kind, std::string message) {
  return Err<DcsError>{DcsError{kind, std::move(message)}};
}

}  // namespace custos::dcs
