// Defensive helpers shared by the cluster model: bounded JSON parsing of untrusted DCS values,
// Python-like integer parsing (the values were written by Patroni, a Python program), UTF-8
// sanitising and case folding. Truthiness and parse_bool live in common/json_truth.h. None of
// these functions throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace custos::dcs {

// Deepest nesting of arrays/objects accepted from the DCS. Deeper documents are invalid, so that
// recursive nlohmann::json operations (copy, compare, dump) stay bounded.
inline constexpr int kMaxJsonDepth = 64;

// Parses `text` as one JSON document. nullopt when it is not valid JSON (or invalid UTF-8, or
// nested deeper than kMaxJsonDepth, or memory runs out). Never throws.
std::optional<nlohmann::json> parse_json(std::string_view text) noexcept;

// Patroni's parse_int without units: integers as is, floats rounded half-to-even, strings
// parsed like Patroni's strtol (trimmed, sign, "0x" hex, leading-"0" octal, decimal, a
// fractional/exponent tail rounded). Booleans, null, objects, arrays, trailing units and values
// outside int64 give nullopt.
std::optional<int64_t> parse_int(const nlohmann::json& value) noexcept;
std::optional<int64_t> parse_int_string(std::string_view text) noexcept;

// Python's int(x) as Patroni applies it to history lines and `status.optime`: integers, booleans
// (0/1), finite floats truncated, strings of decimal digits (trimmed, signed, single '_' between
// digits). nullopt otherwise or outside int64.
std::optional<int64_t> python_int(const nlohmann::json& value) noexcept;

// True when `text` nests arrays/objects deeper than kMaxJsonDepth (so parse_json refused it
// although it may be JSON).
bool json_too_deep(std::string_view text) noexcept;

// The string at `key` of a JSON object, or nullopt (key missing, value not a string, `obj` not
// an object).
std::optional<std::string> json_string(const nlohmann::json& obj, std::string_view key) noexcept;

// Returns `text` with every invalid UTF-8 sequence replaced by U+FFFD, so that it can be stored
// in a nlohmann::json and dumped.
std::string sanitize_utf8(std::string_view text);

// Decodes UTF-8 into code points; a byte that does not start a valid sequence becomes the code
// point of the same value (Latin-1 fallback), so that decoding never fails.
std::u32string decode_utf8_lenient(std::string_view text);
void append_utf8(std::string& out, char32_t cp);

// Lowercase like Python's str.lower() (Unicode simple case mapping through the C.UTF-8 locale,
// plus U+0130 -> "i" U+0307 as Python does); ASCII only if that locale is unavailable.
std::u32string python_lower(std::u32string_view text);
std::string python_lower_utf8(std::string_view text);

}  // namespace custos::dcs
