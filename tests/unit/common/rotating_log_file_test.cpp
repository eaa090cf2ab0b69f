#include "common/rotating_log_file.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/logging.h"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char t[] = "/tmp/custos-logtest-XXXXXX";
    path = ::mkdtemp(t);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST(RotatingLogFile, RotatesAsPythonsRotatingFileHandler) {
  TempDir d;
  const std::string base = d.path + "/patroni.log";
  custos::RotatingLogFile f(base, 20, 2, 0640);
  ASSERT_EQ(f.open(), "");
  for (const char* line : {"aaaaaaaaa\n", "bbbbbbbbb\n", "ccccccccc\n", "ddddddddd\n"}) f.write(line);
  // 10 + 10 reaches 20: rotate before "bbb", before "ccc" (10+10), before "ddd".
  EXPECT_EQ(slurp(base), "ddddddddd\n");
  EXPECT_EQ(slurp(base + ".1"), "ccccccccc\n");
  EXPECT_EQ(slurp(base + ".2"), "bbbbbbbbb\n");
  EXPECT_FALSE(fs::exists(base + ".3"));  // file_num 2: "aaa" is gone
  struct stat st {};
  ASSERT_EQ(::stat(base.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST(RotatingLogFile, ZeroSizeNeverRotates) {
  TempDir d;
  custos::RotatingLogFile f(d.path + "/patroni.log", 0, 4, std::nullopt);
  ASSERT_EQ(f.open(), "");
  for (int i = 0; i < 100; ++i) f.write("0123456789\n");
  EXPECT_EQ(slurp(d.path + "/patroni.log").size(), 1100u);
  EXPECT_FALSE(fs::exists(d.path + "/patroni.log.1"));
}

TEST(Logging, DirSendsLinesToPatroniLogAndLevelAppliesOnReconfigure) {
  TempDir d;
  auto problems = custos::configure_logging(
      nlohmann::json{{"dir", d.path + "/logs"}, {"level", "WARNING"}, {"file_size", 200}, {"file_num", 1},
                     {"loggers", {{"urllib3", "DEBUG"}}}});
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("log.loggers (urllib3)"), std::string::npos) << problems[0];
  spdlog::info("hidden");
  spdlog::warn("shown {}", 1);
  for (int i = 0; i < 10; ++i) spdlog::error("filler line number {}", i);
  const std::string file = d.path + "/logs/patroni.log";
  EXPECT_TRUE(fs::exists(file + ".1"));
  EXPECT_FALSE(fs::exists(file + ".2"));
  const std::string all = slurp(file + ".1") + slurp(file);
  EXPECT_EQ(all.find("hidden"), std::string::npos);
  EXPECT_NE(all.find("ERROR: filler line number 9\n"), std::string::npos) << all;
  // A reload without dir goes back to stderr, at the default level.
  EXPECT_TRUE(custos::configure_logging(nlohmann::json::object()).empty());
  EXPECT_EQ(spdlog::get_level(), spdlog::level::info);
  spdlog::error("after");
  EXPECT_EQ((slurp(file + ".1") + slurp(file)).find("after"), std::string::npos);
  auto bad = custos::configure_logging(nlohmann::json{{"level", "LOUD"}});
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_NE(bad[0].find("log.level"), std::string::npos);
}
