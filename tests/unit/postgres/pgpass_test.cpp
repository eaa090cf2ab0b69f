#include "postgres/pgpass.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace custos::postgres;

TEST(Pgpass, EscapesColonAndBackslash) {
  EXPECT_EQ(escape_pgpass_field("plain"), "plain");
  EXPECT_EQ(escape_pgpass_field("a:b\\c"), "a\\:b\\\\c");
  EXPECT_EQ(escape_pgpass_field("::1"), "\\:\\:1");
}

TEST(Pgpass, RendersLines) {
  EXPECT_EQ(render_pgpass({{"10.0.0.1", "5432", "rep", "p:w\\d"}}), "10.0.0.1:5432:*:rep:p\\:w\\\\d\n");
  EXPECT_EQ(render_pgpass({{"", "", "", "pw"}}), "*:*:*:*:pw\n");
  EXPECT_EQ(render_pgpass({{"h1, h2", "5432", "u", "pw"}}), "h1:5432:*:u:pw\nh2:5432:*:u:pw\n");
  EXPECT_EQ(render_pgpass({{"/var/run/postgresql", "5432", "u", "pw"}}),
            "/var/run/postgresql:5432:*:u:pw\nlocalhost:5432:*:u:pw\n");
  EXPECT_EQ(render_pgpass({{"::1", "5432", "u", "pw"}, {"h", "1", "v", "x"}}),
            "\\:\\:1:5432:*:u:pw\nh:1:*:v:x\n");
}

TEST(Pgpass, WritesWithMode0600) {
  std::string dir = (std::filesystem::temp_directory_path() / "custos-pgpass-XXXXXX").string();
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  std::string path = dir + "/pgpass";
  write_pgpass(path, {{"h", "5432", "u", "pw"}});
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(ss.str(), "h:5432:*:u:pw\n");
  std::filesystem::remove_all(dir);
}
