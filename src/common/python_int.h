// Python's int() applied to a JSON value, the way Patroni turns ttl, loop_wait and retry_timeout
// of the dynamic configuration into integers: integers as they are, floats truncated towards
// zero (30.7 -> 30), booleans 0/1, strings holding a decimal integer (surrounding whitespace, a
// sign and single underscores between digits allowed: " 30 ", "+1_000"). Everything else
// (null, "often", "3.0", "", lists, mappings, NaN) has no value: Patroni's int() would raise.
// Values outside int64 are clamped to its range. Pure; never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

namespace custos {

std::optional<int64_t> python_int(const nlohmann::json& value) noexcept;
std::optional<int64_t> python_int(std::string_view text) noexcept;

}  // namespace custos
