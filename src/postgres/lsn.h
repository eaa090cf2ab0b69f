// WAL positions (LSN) for the PostgreSQL side: the shared helpers of common/lsn.h.
#pragma once

#include "common/lsn.h"

namespace custos::postgres {

using custos::format_lsn;
using custos::parse_lsn;

}  // namespace custos::postgres
