#include "common/shlex.h"

#include <gtest/gtest.h>

using custos::shlex_split;
using V = std::vector<std::string>;

// Python's shlex.split (POSIX mode), as Patroni splits every configured command.
TEST(Shlex, SplitsAsPythonDoes) {
  EXPECT_EQ(shlex_split("/usr/bin/cb.sh").value(), V{"/usr/bin/cb.sh"});
  EXPECT_EQ(shlex_split("  a  b\tc\n").value(), (V{"a", "b", "c"}));
  EXPECT_EQ(shlex_split("cb --opt 'two words' \"x y\"").value(), (V{"cb", "--opt", "two words", "x y"}));
  EXPECT_EQ(shlex_split("a'b'c\"d\"e").value(), V{"abcde"});
  EXPECT_EQ(shlex_split("'' \"\"").value(), (V{"", ""}));
  EXPECT_EQ(shlex_split("a\\ b c").value(), (V{"a b", "c"}));
  EXPECT_EQ(shlex_split("'a\\b'").value(), V{"a\\b"});               // no escapes in '...'
  EXPECT_EQ(shlex_split("\"a\\\"b\\$c\\d\"").value(), V{"a\"b$c\\d"});  // only \ " $ ` newline in "..."
  EXPECT_EQ(shlex_split("a#b").value(), V{"a#b"});                    // no comments
  EXPECT_TRUE(shlex_split("").value().empty());
}

TEST(Shlex, ErrorsAreNamedAsPythonNamesThem) {
  EXPECT_EQ(shlex_split("cb 'open").error(), "No closing quotation");
  EXPECT_EQ(shlex_split("cb \"open").error(), "No closing quotation");
  EXPECT_EQ(shlex_split("cb \\").error(), "No escaped character");
}
