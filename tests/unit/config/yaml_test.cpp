#include "config/yaml.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

using custos::config::json;
using custos::config::parse_yaml;
using custos::config::resolve_plain_scalar;

TEST(Yaml, PlainScalarsFollowYaml11) {
  EXPECT_EQ(resolve_plain_scalar("yes"), json(true));
  EXPECT_EQ(resolve_plain_scalar("On"), json(true));
  EXPECT_EQ(resolve_plain_scalar("OFF"), json(false));
  EXPECT_EQ(resolve_plain_scalar("no"), json(false));
  EXPECT_EQ(resolve_plain_scalar("y"), json("y"));  // not a bool for PyYAML
  EXPECT_EQ(resolve_plain_scalar("~"), json(nullptr));
  EXPECT_EQ(resolve_plain_scalar("null"), json(nullptr));
  EXPECT_EQ(resolve_plain_scalar("42"), json(42));
  EXPECT_EQ(resolve_plain_scalar("-17"), json(-17));
  EXPECT_EQ(resolve_plain_scalar("1_000"), json(1000));
  EXPECT_EQ(resolve_plain_scalar("0x1F"), json(31));
  EXPECT_EQ(resolve_plain_scalar("010"), json(8));   // YAML 1.1 octal
  EXPECT_EQ(resolve_plain_scalar("0b101"), json(5));
  EXPECT_EQ(resolve_plain_scalar("1:30"), json(90));  // sexagesimal
  EXPECT_EQ(resolve_plain_scalar("09"), json("09"));
  EXPECT_EQ(resolve_plain_scalar("1.5"), json(1.5));
  EXPECT_EQ(resolve_plain_scalar("1e5"), json("1e5"));  // PyYAML needs a dot
  EXPECT_TRUE(std::isinf(resolve_plain_scalar(".inf").get<double>()));
  EXPECT_EQ(resolve_plain_scalar("0.0.0.0:8008"), json("0.0.0.0:8008"));
  EXPECT_EQ(resolve_plain_scalar("128MB"), json("128MB"));
}

TEST(Yaml, QuotedScalarsStayStrings) {
  auto r = parse_yaml("a: '10'\nb: \"on\"\nc: !!str 5\nd: on\ne: 10\nf:\n");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const json& j = r.value();
  EXPECT_EQ(j["a"], json("10"));
  EXPECT_EQ(j["b"], json("on"));
  EXPECT_EQ(j["c"], json("5"));
  EXPECT_EQ(j["d"], json(true));
  EXPECT_EQ(j["e"], json(10));
  EXPECT_TRUE(j["f"].is_null());
}

TEST(Yaml, NestedStructuresAndMergeKeys) {
  auto r = parse_yaml(
      "base: &b {x: 1, y: 2}\n"
      "other: &o {y: 20, z: 30}\n"
      "m:\n  <<: [*b, *o]\n  x: 100\n"
      "list: [1, two, {k: v}]\n");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  const json& j = r.value();
  EXPECT_EQ(j["m"]["x"], 100);  // explicit wins
  EXPECT_EQ(j["m"]["y"], 2);    // first merged mapping wins
  EXPECT_EQ(j["m"]["z"], 30);
  EXPECT_EQ(j["list"], json::parse(R"([1, "two", {"k": "v"}])"));
}

TEST(Yaml, DuplicateKeysLastWins) {
  auto r = parse_yaml("a: 1\na: 2\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()["a"], 2);
}

TEST(Yaml, SyntaxErrorsCarryLineAndColumn) {
  auto r = parse_yaml("a: 1\nb: [1, 2\nc: 3\n");
  ASSERT_FALSE(r.ok());
  EXPECT_GT(r.error().line, 0);
  EXPECT_GT(r.error().column, 0);
  auto r2 = parse_yaml("a: 1\n  b: 2\n");
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().line, 2);
  EXPECT_NE(r2.error().to_string().find("line 2"), std::string::npos);
}

TEST(Yaml, BinaryBytesAreRejectedWithPosition) {
  std::string text = "a: 1\nb: x\x01y\n";
  auto r = parse_yaml(text);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().line, 2);
  EXPECT_EQ(r.error().column, 5);
  std::string bad_utf8 = "a: \xff\xfe\n";
  EXPECT_FALSE(parse_yaml(bad_utf8).ok());
  std::string nul("a: b\0c\n", 7);
  EXPECT_FALSE(parse_yaml(nul).ok());
  EXPECT_TRUE(parse_yaml("a: caf\xc3\xa9\n").ok());  // valid UTF-8 is fine
}

TEST(Yaml, DeepNestingIsAnErrorNotACrash) {
  std::string deep(5000, '[');
  deep += std::string(5000, ']');
  EXPECT_FALSE(parse_yaml(deep).ok());
  std::string deep_map;
  for (int i = 0; i < 300; ++i) deep_map += std::string(i * 2, ' ') + "k:\n";
  EXPECT_FALSE(parse_yaml(deep_map).ok());
  std::string flow;
  for (int i = 0; i < 100000; ++i) flow += "{a: ";
  EXPECT_FALSE(parse_yaml(flow).ok());
}

TEST(Yaml, AliasBombIsBounded) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'j'; ++c) {
    bomb += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 10; ++i) bomb += std::string(i ? ", " : "") + "*" + prev;
    bomb += "]\n";
    prev = c;
  }
  auto r = parse_yaml(bomb);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("too large"), std::string::npos);
}

TEST(Yaml, MultipleDocumentsAndOddTagsAreErrors) {
  EXPECT_FALSE(parse_yaml("a: 1\n---\nb: 2\n").ok());
  EXPECT_FALSE(parse_yaml("a: !!python/object:os.system x\n").ok());
  EXPECT_FALSE(parse_yaml("? [a, b]\n: c\n").ok());
  EXPECT_TRUE(parse_yaml("").ok());
  EXPECT_TRUE(parse_yaml("").value().is_null());
}

TEST(Yaml, HugeIntegersDoNotOverflow) {
  auto r = parse_yaml("a: 99999999999999999999999999999\nb: 18446744073709551615\nc: -9223372036854775808\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.value()["a"].is_number_float());
  EXPECT_TRUE(r.value()["b"].is_number_unsigned());
  EXPECT_EQ(r.value()["c"].get<int64_t>(), INT64_MIN);
}
