// python_truthy and patroni_parse_bool over every JSON type: the two readings Patroni applies
// to configuration and DCS values (see common/json_truth.h for which applies where).
#include "common/json_truth.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

using custos::patroni_parse_bool;
using custos::python_truthy;
using nlohmann::json;

namespace {

struct Row {
  json value;
  bool truthy;
  std::optional<bool> parsed;
};

std::vector<Row> table() {
  const std::optional<bool> none;
  return {
      {json(nullptr), false, none},
      {json(true), true, true},
      {json(false), false, false},
      {json(0), false, false},
      {json(1), true, true},
      {json(-1), true, none},
      {json(2), true, none},
      {json(std::numeric_limits<uint64_t>::max()), true, none},
      {json(uint64_t{1}), true, true},
      {json(uint64_t{0}), false, false},
      {json(0.0), false, none},  // str(0.0) is "0.0"
      {json(1.0), true, none},
      {json(-0.5), true, none},
      {json(""), false, none},
      {json("false"), true, false},
      {json("False"), true, false},
      {json("FALSE"), true, false},
      {json("off"), true, false},
      {json("OFF"), true, false},
      {json("no"), true, false},
      {json("No"), true, false},
      {json("0"), true, false},
      {json("true"), true, true},
      {json("True"), true, true},
      {json("on"), true, true},
      {json("YES"), true, true},
      {json("1"), true, true},
      {json("n"), true, none},
      {json("y"), true, none},
      {json(" true"), true, none},  // not stripped
      {json("true "), true, none},
      {json("01"), true, none},
      {json("1.0"), true, none},
      {json("None"), true, none},
      {json("maybe"), true, none},
      {json("\xE2\x84\xAA"), true, none},  // KELVIN SIGN, lowers to "k"
      {json("TRU\xC3\x89"), true, none},
      {json::array(), false, none},
      {json::array({0}), true, none},
      {json::array({false}), true, none},
      {json::object(), false, none},
      {json{{"a", false}}, true, none},
  };
}

}  // namespace

TEST(JsonTruth, PythonTruthyOfEveryType) {
  for (const Row& r : table()) EXPECT_EQ(python_truthy(r.value), r.truthy) << r.value.dump();
  EXPECT_FALSE(python_truthy(json(json::value_t::discarded)));
}

TEST(JsonTruth, PatroniParseBoolOfEveryType) {
  for (const Row& r : table()) EXPECT_EQ(patroni_parse_bool(r.value), r.parsed) << r.value.dump();
  EXPECT_EQ(patroni_parse_bool(json(json::value_t::discarded)), std::nullopt);
}

TEST(JsonTruth, TextOverloadAgreesWithJsonStrings) {
  for (const Row& r : table()) {
    if (!r.value.is_string()) continue;
    const std::string& s = r.value.get_ref<const std::string&>();
    EXPECT_EQ(patroni_parse_bool(std::string_view(s)), r.parsed) << s;
    EXPECT_EQ(patroni_parse_bool(s), r.parsed) << s;
  }
  EXPECT_EQ(patroni_parse_bool("Off"), false);
  EXPECT_EQ(patroni_parse_bool(std::string("oN")), true);
  EXPECT_EQ(patroni_parse_bool(std::string_view("tr\0ue", 5)), std::nullopt);
}

// The difference that matters: a quoted "false" is true for one and false for the other.
TEST(JsonTruth, QuotedFalseDependsOnTheReading) {
  EXPECT_TRUE(python_truthy(json("false")));
  EXPECT_EQ(patroni_parse_bool(json("false")), false);
  EXPECT_FALSE(python_truthy(json("")));
  EXPECT_EQ(patroni_parse_bool(json("")), std::nullopt);
}
