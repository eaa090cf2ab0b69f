// Replication slot names derived from member names (Patroni's slot_name_from_member_name) and
// the validity rule for permanent slot names. Must stay bit-identical with Patroni (dcs.md §3).
#pragma once

#include <string>
#include <string_view>

namespace custos::dcs {

// 1. lowercase (ASCII A-Z; see .cpp for non-ASCII), 2. '-' and '.' -> '_', other chars outside
// [a-z0-9_] -> 'u' + 4-digit zero-padded decimal Unicode code point, 3. cut to 63 characters.
// The input is decoded as UTF-8; a byte that does not start a valid sequence counts as the
// code point of the same value (Latin-1 fallback).
std::string slot_name_from_member_name(std::string_view member_name);

// True when `name` matches ^[a-z0-9_]{1,63}$ (permanent slot names; others are ignored).
bool is_valid_slot_name(std::string_view name) noexcept;

}  // namespace custos::dcs
