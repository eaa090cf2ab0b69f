// json.dumps / yaml.safe_dump look-alikes used by the json, yaml and tags renderings.
#include <gtest/gtest.h>

#include "ctl/records.h"

namespace custos::ctl {
namespace {

TEST(CtlRecords, PythonJsonDumps) {
  ordered_json v = ordered_json::array({ordered_json{{"Member", "n\xc3\xa9"}, {"TL", 1}, {"Tags", {{"a", true}}}},
                                        ordered_json::object()});
  EXPECT_EQ(python_json_dumps(v), "[{\"Member\": \"n\\u00e9\", \"TL\": 1, \"Tags\": {\"a\": true}}, {}]");
  EXPECT_EQ(python_json_dumps(ordered_json::array()), "[]");
  EXPECT_EQ(python_json_dumps(1.0), "1.0");
}

TEST(CtlRecords, YamlBlockSortsKeysAndQuotesLookAlikes) {
  ordered_json v = ordered_json::array({ordered_json{{"Member", "node1"},
                                                     {"Host", "127.0.0.1:5433"},
                                                     {"TL", 1},
                                                     {"Pending restart", "*"},
                                                     {"State", "true"},
                                                     {"Scheduled restart", "2024-01-01T10:00:00+00:00"}}});
  EXPECT_EQ(yaml_dump(v),
            "- Host: 127.0.0.1:5433\n"
            "  Member: node1\n"
            "  Pending restart: '*'\n"
            "  Scheduled restart: '2024-01-01T10:00:00+00:00'\n"
            "  State: 'true'\n"
            "  TL: 1");
  EXPECT_EQ(yaml_dump(ordered_json::array()), "[]");
}

TEST(CtlRecords, YamlFlowForTags) {
  ordered_json tags = {{"replicatefrom", "node2"}, {"nofailover", true}, {"priority", 5}};
  EXPECT_EQ(yaml_dump(tags, true), "{nofailover: true, priority: 5, replicatefrom: node2}");
  EXPECT_EQ(yaml_dump(tags, false), "nofailover: true\npriority: 5\nreplicatefrom: node2");
}

TEST(CtlRecords, QuotingRules) {
  for (const char* s : {"", "yes", "No", "null", "~", "12", "0x1f", "1.5", "2024-01-01", "*", "&a", "a: b", " x", "@x"})
    EXPECT_TRUE(yaml_needs_quotes(s)) << s;
  for (const char* s : {"node1", "streaming", "127.0.0.1:5432", "in archive recovery", "Replica", "unknown"})
    EXPECT_FALSE(yaml_needs_quotes(s)) << s;
}

}  // namespace
}  // namespace custos::ctl
