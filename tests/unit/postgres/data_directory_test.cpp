// postgres/data_directory.h on a data directory laid out on disk as PostgreSQL leaves one with a
// WAL directory on another volume (pg_wal a symlink, initdb/pg_basebackup --waldir) and user
// tablespaces (symlinks in pg_tblspc): removing and moving it aside take them along, as Patroni
// does; links to the data directory's own parents, dangling links and a symlinked data
// directory's target are left alone.
#include "postgres/data_directory.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;

namespace custos::postgres {
namespace {

class DataDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/custos-datadirectory-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root = tmpl;
    data = root + "/data";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  static void touch(const std::string& path) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream(path) << "x";
  }
  // data/ with PG_VERSION, pg_wal -> wal/, pg_tblspc/16384 -> ts1/, pg_tblspc/16385 -> (gone).
  void lay_out() {
    touch(data + "/PG_VERSION");
    touch(root + "/wal/000000010000000000000001");
    touch(root + "/ts1/PG_15_202209061/5/16386");
    fs::create_directory_symlink(root + "/wal", data + "/pg_wal");
    fs::create_directories(data + "/pg_tblspc");
    fs::create_directory_symlink(root + "/ts1", data + "/pg_tblspc/16384");
    fs::create_directory_symlink(root + "/gone", data + "/pg_tblspc/16385");
    touch(root + "/bystander/keep");
  }
  bool exists(const std::string& p) {
    std::error_code ec;
    return fs::exists(fs::symlink_status(p, ec));
  }

  std::string root;
  std::string data;
};

TEST_F(DataDirectoryTest, ExternalDirectoriesAreTheWalAndTablespaceTargetsThatExist) {
  lay_out();
  const auto ext = external_directories(data + "/");
  ASSERT_EQ(ext.size(), 2u);
  EXPECT_EQ(ext[0].link, data + "/pg_wal");
  EXPECT_EQ(ext[0].target, fs::canonical(root + "/wal").string());
  EXPECT_TRUE(ext[0].is_wal);
  EXPECT_EQ(ext[1].link, data + "/pg_tblspc/16384");
  EXPECT_EQ(ext[1].target, fs::canonical(root + "/ts1").string());
  EXPECT_FALSE(ext[1].is_wal);
  EXPECT_TRUE(external_directories(root + "/nothing-here").empty());
}

TEST_F(DataDirectoryTest, RemovingTakesTheWalAndTablespaceDirectoriesAlong) {
  lay_out();
  auto st = remove_data_directory(data);
  ASSERT_TRUE(st) << st.error();
  EXPECT_FALSE(exists(data));
  EXPECT_FALSE(exists(root + "/wal"));
  EXPECT_FALSE(exists(root + "/ts1"));
  EXPECT_TRUE(exists(root + "/bystander/keep"));
  // Nothing there is nothing to do.
  EXPECT_TRUE(remove_data_directory(data));
}

TEST_F(DataDirectoryTest, LinksToTheDataDirectorysParentsOrIntoItAreNotFollowed) {
  touch(data + "/PG_VERSION");
  touch(data + "/inside/f");
  fs::create_directory_symlink(root, data + "/pg_wal");  // the parent: removing it would remove everything
  fs::create_directories(data + "/pg_tblspc");
  fs::create_directory_symlink("/", data + "/pg_tblspc/1");
  fs::create_directory_symlink(data + "/inside", data + "/pg_tblspc/2");
  touch(root + "/other/keep");
  fs::create_directory_symlink(root + "/other", data + "/pg_tblspc/notes");  // not an OID: not PostgreSQL's
  touch(root + "/bystander/keep");
  ASSERT_TRUE(external_directories(data).empty());
  // The removal itself runs without the link to '/': a broken guard must not cost the machine.
  fs::remove(data + "/pg_tblspc/1");
  ASSERT_TRUE(external_directories(data).empty());
  auto st = remove_data_directory(data);
  ASSERT_TRUE(st) << st.error();
  EXPECT_FALSE(exists(data));
  EXPECT_TRUE(exists(root + "/bystander/keep"));
  EXPECT_TRUE(exists(root + "/other/keep"));
}

TEST_F(DataDirectoryTest, ASecondLinkToTheWalDirectoryIsTakenOnce) {
  lay_out();
  fs::create_directory_symlink("pg_wal", data + "/pg_xlog");  // relative, to the first link
  const auto ext = external_directories(data);
  ASSERT_EQ(ext.size(), 2u);
  EXPECT_EQ(ext[0].link, data + "/pg_wal");
  auto moved = move_data_directory_aside(data, "failed");
  ASSERT_TRUE(moved) << moved.error();
  EXPECT_TRUE(exists(root + "/wal.failed/000000010000000000000001"));
  EXPECT_TRUE(exists(moved.value() + "/pg_xlog/000000010000000000000001"));
}

TEST_F(DataDirectoryTest, ASymlinkedDataDirectoryIsUnlinkedAndItsTargetKept) {
  touch(root + "/real/PG_VERSION");
  fs::create_directory_symlink(root + "/real", data);
  auto st = remove_data_directory(data);
  ASSERT_TRUE(st) << st.error();
  EXPECT_FALSE(exists(data));
  EXPECT_TRUE(exists(root + "/real/PG_VERSION"));
}

TEST_F(DataDirectoryTest, MovingAsideRenamesTheExternalDirectoriesAndRepointsTheLinks) {
  lay_out();
  auto moved = move_data_directory_aside(data, "failed");
  ASSERT_TRUE(moved) << moved.error();
  EXPECT_EQ(moved.value(), data + ".failed");
  EXPECT_FALSE(exists(data));
  EXPECT_FALSE(exists(root + "/wal"));
  EXPECT_FALSE(exists(root + "/ts1"));
  EXPECT_EQ(fs::read_symlink(data + ".failed/pg_wal").string(), fs::canonical(root + "/wal.failed").string());
  EXPECT_TRUE(exists(data + ".failed/pg_wal/000000010000000000000001"));
  EXPECT_TRUE(exists(data + ".failed/pg_tblspc/16384/PG_15_202209061/5/16386"));
  EXPECT_TRUE(exists(root + "/ts1.failed/PG_15_202209061/5/16386"));

  // Again, with every name taken: .1 appended, nothing overwritten.
  lay_out();
  moved = move_data_directory_aside(data + "/", "failed");
  ASSERT_TRUE(moved) << moved.error();
  EXPECT_EQ(moved.value(), data + ".failed.1");
  EXPECT_TRUE(exists(root + "/wal.failed/000000010000000000000001"));
  EXPECT_TRUE(exists(root + "/wal.failed.1/000000010000000000000001"));
  EXPECT_EQ(fs::read_symlink(data + ".failed.1/pg_wal").string(), fs::canonical(root + "/wal.failed.1").string());

  auto none = move_data_directory_aside(data, "failed");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().find("there is no data directory"), std::string::npos) << none.error();
}

}  // namespace
}  // namespace custos::postgres
