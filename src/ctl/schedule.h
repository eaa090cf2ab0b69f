// Times and versions as patronictl reads and prints them: --scheduled values ("now", ISO 8601
// with or without a time zone; naive times are local), Python-style isoformat() of the result,
// the "YYYY-MM-DD HH:MM:SS[.fffff]" timestamps printed before results, and PostgreSQL versions
// (--pg-version checks, server_version rendering).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "common/result.h"
#include "dcs/failover.h"

namespace custos::ctl {

struct ScheduledTime {
  dcs::SysMicros utc;  // the instant
  std::string iso;     // isoformat() in the given (or local) offset: 2026-01-02T03:04:05+01:00
};

// nullopt for an absent value or "now"; otherwise the parsed time. Accepted: YYYY-MM-DD,
// YYYY-MM-DD[T ]HH:MM[:SS[.fraction]], optionally followed by Z or ±HH[[:]MM] (spaces before the
// zone allowed). Error: "Unable to parse scheduled timestamp (<text>). It should be in an
// unambiguous format (e.g. ISO 8601)".
Result<std::optional<ScheduledTime>, std::string> parse_scheduled(
    const std::optional<std::string>& text);

// patronictl's timestamp(precision): local "YYYY-MM-DD HH:MM:SS" followed, for precision > 0,
// by '.' and the first `precision - 1` digits of the microseconds (Python slices [:precision-7]).
std::string local_timestamp(int precision = 6);

// "YYYY-MM-DDTHH:MM" one hour from now (the example in scheduling prompts).
std::string next_hour_example();

// Checks a --pg-version value: X.Y (X >= 10) or X.Y.Z of integers. Error message as Patroni's.
Result<bool, std::string> check_postgres_version(const std::string& text);

// server_version (e.g. 160002 -> "16.2", 90624 -> "9.6.24").
std::string format_pg_version(long long version);

}  // namespace custos::ctl
