// LocalPostgres::data_dir_state answers as Patroni's data_directory_empty: global/pg_control
// present means not empty (no listing); otherwise hidden entries and lost+found do not count, and
// a directory that cannot be listed is inaccessible.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/process_runner.h"
#include "postgres/file_util.h"
#include "postgres/local_postgres.h"

namespace fs = std::filesystem;
using custos::postgres::DataDirState;
using custos::postgres::LocalPostgres;
using custos::postgres::NodeSettings;

namespace {

class DataDirStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/custos-datadir-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root = tmpl;
    data = root + "/data";
  }
  void TearDown() override {
    std::error_code ec;
    fs::permissions(data, fs::perms::owner_all, ec);
    fs::remove_all(root, ec);
  }
  DataDirState state(std::string* why = nullptr) {
    NodeSettings s;
    s.data_dir = data;
    LocalPostgres pg(s, custos::system_process_runner());
    return pg.data_dir_state(why);
  }
  void touch(const std::string& name) { std::ofstream(data + "/" + name) << "15\n"; }
  std::string root, data;
};

}  // namespace

TEST_F(DataDirStateTest, MissingOrEmptyOrOnlyHiddenEntriesAndLostFoundIsEmpty) {
  EXPECT_EQ(state(), DataDirState::empty);
  fs::create_directory(data);
  EXPECT_EQ(state(), DataDirState::empty);
  fs::create_directory(data + "/lost+found");
  fs::create_directory(data + "/.snapshot");
  touch(".hidden");
  EXPECT_EQ(state(), DataDirState::empty);
}

TEST_F(DataDirStateTest, AnyOtherEntryOrPgVersionIsPresent) {
  fs::create_directory(data);
  touch("postgresql.conf");
  EXPECT_EQ(state(), DataDirState::present);
  fs::remove(data + "/postgresql.conf");
  touch("PG_VERSION");
  EXPECT_EQ(state(), DataDirState::present);
}

TEST_F(DataDirStateTest, AFileInsteadOfADirectoryIsInaccessible) {
  std::ofstream(data) << "x";
  std::string why;
  EXPECT_EQ(state(&why), DataDirState::inaccessible);
  EXPECT_FALSE(why.empty());
}

// Runs `check` with the effective user and group of `nobody`, who owns `dir` (mode: search only)
// when the test runs as root (root reads every directory); as another user, as that user.
template <class Check>
void as_owner_without_read(const std::string& root, const std::string& dir, Check check) {
  const struct passwd* nobody = ::getpwnam("nobody");
  const bool as_root = ::geteuid() == 0;
  if (as_root) {
    ASSERT_NE(nobody, nullptr);
    fs::permissions(root, fs::perms::owner_all | fs::perms::others_exec);
    ASSERT_EQ(::chown(dir.c_str(), nobody->pw_uid, nobody->pw_gid), 0);
  }
  fs::permissions(dir, fs::perms::owner_exec);
  if (as_root) {
    ASSERT_EQ(::setegid(nobody->pw_gid), 0);
    ASSERT_EQ(::seteuid(nobody->pw_uid), 0);
  }
  check();
  // Back to root or stop here: the rest of the suite must not run as nobody.
  if (as_root && (::seteuid(0) != 0 || ::setegid(0) != 0)) std::abort();
}

TEST_F(DataDirStateTest, ADirectoryThatCannotBeListedIsInaccessible) {
  fs::create_directory(data);
  touch("PG_VERSION");  // no global/pg_control: the directory must be listed
  DataDirState st = DataDirState::present;
  std::string why;
  as_owner_without_read(root, data, [&] { st = state(&why); });
  EXPECT_EQ(st, DataDirState::inaccessible);
  EXPECT_NE(why.find("Permission denied"), std::string::npos) << why;
}

TEST_F(DataDirStateTest, WithPgControlTheDirectoryIsPresentWithoutBeingListed) {
  fs::create_directories(data + "/global");
  std::ofstream(data + "/global/pg_control") << "x";
  DataDirState st = DataDirState::empty;
  as_owner_without_read(root, data, [&] { st = state(); });
  EXPECT_EQ(st, DataDirState::present);
}

TEST_F(DataDirStateTest, TheMajorVersionIsReadFromPgVersion) {
  using custos::postgres::data_dir_major_version;
  EXPECT_EQ(data_dir_major_version(data), 0) << "no data directory";
  fs::create_directory(data);
  EXPECT_EQ(data_dir_major_version(data), 0) << "no PG_VERSION";
  touch("PG_VERSION");  // "15\n"
  EXPECT_EQ(data_dir_major_version(data), 15);
  std::ofstream(data + "/PG_VERSION") << "  9.6\n";
  EXPECT_EQ(data_dir_major_version(data), 9);
  std::ofstream(data + "/PG_VERSION") << "garbage\n";
  EXPECT_EQ(data_dir_major_version(data), 0);
  std::ofstream(data + "/PG_VERSION") << "";
  EXPECT_EQ(data_dir_major_version(data), 0);
}
