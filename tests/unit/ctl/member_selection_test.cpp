// Role filters, dsn resolution, leader-first ordering and the interactive member selection of
// reload/restart/reinit/flush (ctl.md §5 dsn, §6).
#include "ctl/member_selection.h"

#include <gtest/gtest.h>

#include <sstream>

#include "ctl_test_util.h"

namespace custos::ctl {
namespace {

using namespace test;

dcs::Cluster three(const std::string& leader_role = "master") {
  return cluster({{"initialize", "1"},
                  {"leader", "node1"},
                  {"members/node1", member_value("10.0.0.1:5432", leader_role, "running", 100, 1)},
                  {"members/node2", member_value("10.0.0.2:5433", "replica", "running", 100, 1)},
                  {"members/node3", member_value("10.0.0.3:5432", "replica", "running", 100, 1,
                                                 {{"tags", {{"nofailover", true}}}})}});
}

std::vector<std::string> names(const std::vector<dcs::Member>& ms) {
  std::vector<std::string> out;
  for (const auto& m : ms) out.push_back(m.name());
  return out;
}

TEST(CtlMemberSelection, ParseRole) {
  EXPECT_EQ(parse_role("leader"), RoleFilter::kLeader);
  EXPECT_EQ(parse_role("primary"), RoleFilter::kPrimary);
  EXPECT_EQ(parse_role("master"), RoleFilter::kPrimary);
  EXPECT_EQ(parse_role("standby-leader"), RoleFilter::kStandbyLeader);
  EXPECT_EQ(parse_role("replica"), RoleFilter::kReplica);
  EXPECT_EQ(parse_role("standby"), RoleFilter::kReplica);
  EXPECT_EQ(parse_role("any"), RoleFilter::kAny);
  EXPECT_FALSE(parse_role("boss"));
}

TEST(CtlMemberSelection, RolesOfAPrimaryCluster) {
  auto c = three();
  auto g = cluster_groups(c, false);
  EXPECT_EQ(names(members_with_role(g, RoleFilter::kLeader)), (std::vector<std::string>{"node1"}));
  EXPECT_EQ(names(members_with_role(g, RoleFilter::kPrimary)), (std::vector<std::string>{"node1"}));
  EXPECT_TRUE(members_with_role(g, RoleFilter::kStandbyLeader).empty());
  EXPECT_EQ(names(members_with_role(g, RoleFilter::kReplica)),
            (std::vector<std::string>{"node2", "node3"}));
  EXPECT_EQ(names(members_with_role(g, RoleFilter::kAny)),
            (std::vector<std::string>{"node1", "node2", "node3"}));
}

TEST(CtlMemberSelection, RolesOfAStandbyCluster) {
  auto c = three("standby_leader");
  auto g = cluster_groups(c, false);
  EXPECT_EQ(names(members_with_role(g, RoleFilter::kLeader)), (std::vector<std::string>{"node1"}));
  EXPECT_TRUE(members_with_role(g, RoleFilter::kPrimary).empty());
  EXPECT_EQ(names(members_with_role(g, RoleFilter::kStandbyLeader)),
            (std::vector<std::string>{"node1"}));
}

TEST(CtlMemberSelection, NoLeader) {
  auto c = cluster({{"members/a", member_value("h:5432", "replica", "running", 1, 1)}});
  auto g = cluster_groups(c, false);
  EXPECT_TRUE(members_with_role(g, RoleFilter::kLeader).empty());
  EXPECT_EQ(names(members_with_role(g, RoleFilter::kReplica)), (std::vector<std::string>{"a"}));
}

TEST(CtlMemberSelection, DsnResolution) {
  auto c = three();
  auto g = cluster_groups(c, false);
  auto leader = find_member(g, RoleFilter::kLeader, std::nullopt);
  ASSERT_TRUE(leader);
  EXPECT_EQ(member_dsn(*leader), "host=10.0.0.1 port=5432");
  auto replica = find_member(g, RoleFilter::kReplica, std::nullopt);
  ASSERT_TRUE(replica);
  EXPECT_EQ(member_dsn(*replica), "host=10.0.0.2 port=5433");
  auto named = find_member(g, RoleFilter::kLeader, std::string("node3"));  // -m: any role
  ASSERT_TRUE(named);
  EXPECT_EQ(member_dsn(*named), "host=10.0.0.3 port=5432");
  EXPECT_FALSE(find_member(g, RoleFilter::kLeader, std::string("ghost")));
  EXPECT_FALSE(find_member(g, RoleFilter::kStandbyLeader, std::nullopt));
}

TEST(CtlMemberSelection, LeaderFirstSkipsMembersWithoutApiUrl) {
  auto c = cluster({{"leader", "b"},
                    {"members/a", member_value("h1:5432", "replica", "running", 1, 1)},
                    {"members/b", member_value("h2:5432", "master", "running", 1, 1)},
                    {"members/c", R"({"conn_url": "postgres://h3:5432/postgres"})"}});
  EXPECT_EQ(names(members_leader_first(c)), (std::vector<std::string>{"b", "a"}));
}

struct Asked {
  std::istringstream in;
  std::ostringstream out;
  Prompter prompter{in, out};
  explicit Asked(const std::string& answers) : in(answers) {}
};

TEST(CtlMemberSelection, SelectAllWithConfirmation) {
  auto c = three();
  Asked a("y\n");
  bool shown = false;
  SelectionRequest req{"demo", {}, "any", false, "reload", true};
  auto r = select_members(cluster_groups(c, false), req, a.prompter, [&] { shown = true; });
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE(shown);
  EXPECT_EQ(names(*r), (std::vector<std::string>{"node1", "node2", "node3"}));
  EXPECT_EQ(a.out.str(), "Are you sure you want to reload members node1, node2, node3? [y/N]: ");
}

TEST(CtlMemberSelection, RefusedConfirmationAborts) {
  auto c = three();
  Asked a("n\n");
  SelectionRequest req{"demo", {"node2"}, "any", false, "restart", true};
  auto r = select_members(cluster_groups(c, false), req, a.prompter, nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "Aborted restart");
}

TEST(CtlMemberSelection, NamesIntersectedWithRole) {
  auto c = three();
  Asked a("");
  SelectionRequest req{"demo", {"node1", "node3", "ghost"}, "replica", true, "restart", true};
  auto r = select_members(cluster_groups(c, false), req, a.prompter, nullptr);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(names(*r), (std::vector<std::string>{"node3"}));
  req.names = {"node1"};
  auto none = select_members(cluster_groups(c, false), req, a.prompter, nullptr);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), "No replica among provided members");
}

TEST(CtlMemberSelection, ReinitAsksForOneMember) {
  auto c = three();
  Asked a("node2\ny\n");
  SelectionRequest req{"demo", {}, "replica", false, "reinitialize", true};
  auto r = select_members(cluster_groups(c, false), req, a.prompter, nullptr);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(names(*r), (std::vector<std::string>{"node2"}));
  EXPECT_EQ(a.out.str(),
            "Which member do you want to reinitialize [node2, node3]? []: "
            "Are you sure you want to reinitialize members node2? [y/N]: ");
  Asked b("node1\n");
  auto bad = select_members(cluster_groups(c, false), req, b.prompter, nullptr);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "node1 is not a member of cluster");
}

TEST(CtlMemberSelection, EmptyClusterIsAnError) {
  dcs::Cluster empty;
  Asked a("");
  SelectionRequest req{"demo", {}, "any", true, "reload", true};
  auto r = select_members(cluster_groups(empty, false), req, a.prompter, nullptr);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "demo cluster doesn't have any members");
}

TEST(CtlMemberSelection, ScheduledConfirmationAndEndOfInput) {
  auto c = three();
  std::vector<dcs::Member> ms{*c.get_member("node2", false)};
  Asked a("yes\n");
  auto ok = confirm_members_action(ms, false, "restart", std::string("2030-01-01T10:00:00+00:00"),
                                   a.prompter);
  EXPECT_TRUE(ok);
  EXPECT_EQ(a.out.str(),
            "Are you sure you want to schedule restart of members node2 at "
            "2030-01-01T10:00:00+00:00? [y/N]: ");
  Asked eof("");
  EXPECT_THROW((void)confirm_members_action(ms, false, "restart", std::nullopt, eof.prompter),
               PromptAborted);
  Asked forced("");
  EXPECT_TRUE(confirm_members_action(ms, true, "restart", std::nullopt, forced.prompter));
  EXPECT_EQ(forced.out.str(), "");
}

TEST(CtlPrompter, DefaultsAndInvalidInput) {
  Asked a("\nmaybe\nY\n");
  EXPECT_EQ(a.prompter.prompt("Candidate ['a']", ""), "");
  EXPECT_TRUE(a.prompter.confirm("Go?"));
  EXPECT_EQ(a.out.str(), "Candidate ['a'] []: Go? [y/N]: Error: invalid input\nGo? [y/N]: ");
  Asked b("\n\nx\n");
  EXPECT_EQ(b.prompter.prompt("Name"), "x");  // no default: asked again
}

}  // namespace
}  // namespace custos::ctl
