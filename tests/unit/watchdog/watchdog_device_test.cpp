#include "watchdog/watchdog_device.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace custos::watchdog;

namespace {

struct TempDir {
  TempDir() {
    char tmpl[] = "/tmp/custos-wd-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name) const { return path + "/" + name; }
  std::string path;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// Patroni's testing driver: every command is visible as text, in order.
TEST(TestingWatchdogDevice, WritesTheTimeoutKeepalivesAndTheMagicCloseAsText) {
  TempDir d;
  const std::string dev = d.file("wd");
  std::ofstream(dev).close();
  TestingWatchdogDevice w(dev);
  EXPECT_FALSE(w.is_running());
  EXPECT_TRUE(w.is_healthy());  // exists and is writable
  ASSERT_TRUE(w.open());
  EXPECT_TRUE(w.is_running());
  EXPECT_TRUE(w.has_set_timeout().value());
  EXPECT_TRUE(w.can_be_disabled().value());
  ASSERT_TRUE(w.set_timeout(25));
  EXPECT_EQ(w.get_timeout().value(), 25);
  ASSERT_TRUE(w.keepalive());
  ASSERT_TRUE(w.keepalive());
  EXPECT_EQ(w.describe(), "Watchdog test harness at " + dev);
  ASSERT_TRUE(w.close());
  EXPECT_FALSE(w.is_running());
  EXPECT_EQ(slurp(dev), "Ctimeout=25\n11V");
}

TEST(TestingWatchdogDevice, DestroyedWhileArmedStaysArmed) {
  TempDir d;
  const std::string dev = d.file("wd");
  std::ofstream(dev).close();
  {
    TestingWatchdogDevice w(dev);
    ASSERT_TRUE(w.open());
    ASSERT_TRUE(w.keepalive());
  }
  EXPECT_EQ(slurp(dev), "1");  // no magic close
}

TEST(LinuxWatchdogDevice, AMissingDeviceIsNamedAsPatroniNamesIt) {
  LinuxWatchdogDevice w("/nonexistent/watchdog");
  EXPECT_FALSE(w.is_healthy());
  auto st = w.open();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error(), "Can't open watchdog device: [Errno 2] No such file or directory: '/nonexistent/watchdog'");
  EXPECT_FALSE(w.is_running());
  EXPECT_EQ(w.describe(), "Linux watchdog device at /nonexistent/watchdog");
  EXPECT_FALSE(w.keepalive());
}

TEST(LinuxWatchdogDevice, AFileIsNotAWatchdogTheIoctlsSaySo) {
  TempDir d;
  const std::string dev = d.file("plain");
  std::ofstream(dev).close();
  LinuxWatchdogDevice w(dev);
  ASSERT_TRUE(w.open());
  auto support = w.has_set_timeout();
  ASSERT_FALSE(support);
  EXPECT_NE(support.error().find("Could not get information about watchdog device"), std::string::npos);
  auto t = w.get_timeout();
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().find("Could not get timeout on watchdog device"), std::string::npos);
  EXPECT_FALSE(w.set_timeout(0));  // out of range before any ioctl
  EXPECT_EQ(w.set_timeout(70000).error(), "Invalid timeout 70000. Supported values are between 1 and 65535");
}

// A FIFO without a reader must not block the HA loop: open fails at once.
TEST(TestingWatchdogDevice, AFifoWithoutAReaderFailsToOpenInsteadOfBlocking) {
  TempDir d;
  const std::string fifo = d.file("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  TestingWatchdogDevice w(fifo);
  auto st = w.open();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("[Errno 6]"), std::string::npos) << st.error();  // ENXIO
}

TEST(MakeDevice, TheDriverChoosesTheDevice) {
  WatchdogConfig c;
  c.driver = "testing";
  EXPECT_EQ(make_device(c)->describe(), "Linux watchdog device");  // not open yet: the generic name
  c.driver = "default";
  EXPECT_FALSE(make_device(c)->is_null());
  c.driver = "softdog-over-ipmi";
  EXPECT_TRUE(make_device(c)->is_null());
}
