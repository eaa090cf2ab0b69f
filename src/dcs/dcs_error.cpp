#include "dcs/dcs_error.h"

namespace custos::dcs {

const char* to_string(DcsErrorKind kind) {
  switch (kind) {
    case DcsErrorKind::kUnreachable: return "DCS unreachable";
    case DcsErrorKind::kCasConflict: return "changed by another writer";
    case DcsErrorKind::kLockOwnedByOther: return "leader lock owned by another member";
    case DcsErrorKind::kAuth: return "DCS authentication failed";
    case DcsErrorKind::kMalformedReply: return "malformed DCS reply";
  }
  return "unknown DCS error";
}

}  // namespace custos::dcs
