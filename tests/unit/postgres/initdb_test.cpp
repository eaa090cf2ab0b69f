#include "postgres/initdb.h"

#include <gtest/gtest.h>

using namespace custos::postgres;
using nlohmann::json;

TEST(Initdb, ParsesListOfFlagsAndPairs) {
  auto r = parse_initdb_options(json::parse(R"(["data-checksums", {"encoding": "UTF8"}, {"locale": "'en_US.UTF-8'"}])"));
  ASSERT_TRUE(r.ok()) << r.error();
  std::vector<InitdbOption> expected{{"data-checksums", std::nullopt}, {"encoding", "UTF8"}, {"locale", "en_US.UTF-8"}};
  EXPECT_EQ(r.value(), expected);
  auto argv = render_initdb_options(r.value());
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ(argv.value(), (std::vector<std::string>{"--data-checksums", "--encoding=UTF8", "--locale=en_US.UTF-8"}));
}

TEST(Initdb, ParsesDictForm) {
  auto r = parse_initdb_options(json::parse(R"({"encoding": "UTF8", "skip": "", "off": false, "wal-segsize": 32})"));
  ASSERT_TRUE(r.ok()) << r.error();
  auto argv = render_initdb_options(r.value());
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ(argv.value(), (std::vector<std::string>{"--encoding=UTF8", "--wal-segsize=32"}));
  EXPECT_TRUE(parse_initdb_options(json()).ok());
}

TEST(Initdb, RefusesForbiddenAndMalformed) {
  for (const char* bad : {R"(["nosync"])", R"(["version"])", R"([{"pgdata": "/x"}])", R"([{"pwfile": "/x"}])",
                          R"({"sync-only": "yes"})", R"([{"a": "1", "b": "2"}])", R"([{"a": 1}])", R"([1])",
                          R"("data-checksums")"}) {
    auto r = parse_initdb_options(json::parse(bad));
    EXPECT_FALSE(r.ok()) << bad;
  }
  auto r = parse_initdb_options(json::parse(R"(["nosync"])"));
  EXPECT_EQ(r.error(), "nosync option for initdb is not allowed");
  EXPECT_FALSE(render_initdb_options({{"pgdata", "/x"}}).ok());
  EXPECT_FALSE(render_initdb_options({{"", std::nullopt}}).ok());
  EXPECT_FALSE(render_initdb_options({{"--encoding", "x"}}).ok());
}

TEST(Initdb, BuildsCommand) {
  InitdbRequest req;
  req.initdb_bin = "/usr/bin/initdb";
  req.data_dir = "/pg/data";
  req.options = {{"data-checksums", std::nullopt}, {"encoding", "UTF8"}};
  req.superuser = "postgres";
  auto argv = initdb_command(req, "/tmp/pw");
  ASSERT_TRUE(argv.ok());
  EXPECT_EQ(argv.value(), (std::vector<std::string>{"/usr/bin/initdb", "--data-checksums", "--encoding=UTF8",
                                                    "--username=postgres", "--pwfile=/tmp/pw", "--pgdata=/pg/data"}));
  req.options = {{"nosync", std::nullopt}};
  EXPECT_FALSE(initdb_command(req, "").ok());
}
