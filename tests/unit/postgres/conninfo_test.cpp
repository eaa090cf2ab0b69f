#include "postgres/conninfo.h"

#include <gtest/gtest.h>

using namespace custos::postgres;

TEST(Conninfo, QuotesValues) {
  EXPECT_EQ(quote_conninfo_value(""), "''");
  EXPECT_EQ(quote_conninfo_value("plain"), "'plain'");
  EXPECT_EQ(quote_conninfo_value("a b"), "'a b'");
  EXPECT_EQ(quote_conninfo_value("it's"), "'it\\'s'");
  EXPECT_EQ(quote_conninfo_value("back\\slash"), "'back\\\\slash'");
}

TEST(Conninfo, BuildsAndRoundTripsThroughLibpq) {
  ConninfoParams p{{"host", "127.0.0.1"}, {"port", "5433"}, {"user", "o'neil"},
                   {"password", "p\\w d'="}, {"dbname", "postgres"}, {"application_name", ""}};
  std::string s = build_conninfo(p);
  EXPECT_EQ(s.substr(0, 31), "host='127.0.0.1' port='5433' us");
  auto parsed = parse_conninfo(s);
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->at("host"), "127.0.0.1");
  EXPECT_EQ(parsed->at("port"), "5433");
  EXPECT_EQ(parsed->at("user"), "o'neil");
  EXPECT_EQ(parsed->at("password"), "p\\w d'=");
  EXPECT_EQ(parsed->at("application_name"), "");
}

TEST(Conninfo, RejectsBadKeyword) {
  EXPECT_THROW(build_conninfo({{"", "x"}}), std::invalid_argument);
  EXPECT_THROW(build_conninfo({{"a b", "x"}}), std::invalid_argument);
}

TEST(Conninfo, WithParamReplacesOrAppends) {
  auto p = with_param({{"host", "a"}, {"port", "1"}}, "host", "b");
  EXPECT_EQ(build_conninfo(p), "host='b' port='1'");
  p = with_param(p, "user", "u");
  EXPECT_EQ(build_conninfo(p), "host='b' port='1' user='u'");
}

TEST(Conninfo, ParseReportsErrors) {
  auto bad = parse_conninfo("host='unterminated");
  ASSERT_FALSE(bad.ok());
  EXPECT_FALSE(bad.error().empty());
  auto uri = parse_conninfo("postgresql://u@h:5/db?application_name=x");
  ASSERT_TRUE(uri.ok()) << uri.error();
  EXPECT_EQ(uri->at("host"), "h");
  EXPECT_EQ(uri->at("dbname"), "db");
  EXPECT_EQ(uri->at("application_name"), "x");
}

TEST(Conninfo, FormatDsnFollowsPatroniOrderAndEscaping) {
  std::map<std::string, std::string> p{{"host", "10.0.0.1"},      {"port", "5432"},
                                       {"user", "rep user"},      {"password", "se'cr\\et"},
                                       {"dbname", "postgres"},    {"sslmode", "prefer"},
                                       {"application_name", "n1"}, {"gssencmode", "prefer"},
                                       {"channel_binding", "prefer"}, {"bogus", "x"},
                                       {"sslcert", ""}};
  EXPECT_EQ(format_dsn(p),
            "dbname=postgres user=rep\\ user password=se\\'cr\\\\et host=10.0.0.1 port=5432 sslmode=prefer "
            "application_name=n1 gssencmode=prefer channel_binding=prefer");
  p["passfile"] = "/tmp/pgpass";
  EXPECT_TRUE(format_dsn(p).starts_with("dbname=postgres user=rep\\ user passfile=/tmp/pgpass host=")) << format_dsn(p);
  // What we render, libpq reads back.
  auto parsed = parse_conninfo(format_dsn({{"user", "rep user"}, {"password", "se'cr\\et"}}));
  ASSERT_TRUE(parsed.ok()) << parsed.error();
  EXPECT_EQ(parsed->at("user"), "rep user");
  EXPECT_EQ(parsed->at("password"), "se'cr\\et");
}
