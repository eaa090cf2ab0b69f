// The registry of custos's own metric families: the exposition text of counters, gauges and
// histograms, label escaping, and misuse refused.
#include "common/metrics_registry.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace custos {
namespace {

TEST(MetricsRegistry, RendersEveryTypeInTheExpositionFormat) {
  MetricsRegistry r;
  r.declare("a_total", MetricsRegistry::Type::kCounter, "A counter.");
  r.declare("b", MetricsRegistry::Type::kGauge, "A gauge.");
  r.declare("c_seconds", MetricsRegistry::Type::kHistogram, "A histogram.", {0.1, 1});
  r.add("a_total", {{"op", "x"}});
  r.add("a_total", {{"op", "x"}}, 2);
  r.set("b", {}, 0.25);
  r.observe("c_seconds", {{"op", "y"}}, 0.05);
  r.observe("c_seconds", {{"op", "y"}}, 0.5);
  r.observe("c_seconds", {{"op", "y"}}, 7);
  EXPECT_EQ(r.render(),
            "# HELP a_total A counter.\n# TYPE a_total counter\na_total{op=\"x\"} 3\n"
            "# HELP b A gauge.\n# TYPE b gauge\nb 0.25\n"
            "# HELP c_seconds A histogram.\n# TYPE c_seconds histogram\n"
            "c_seconds_bucket{op=\"y\",le=\"0.1\"} 1\n"
            "c_seconds_bucket{op=\"y\",le=\"1\"} 2\n"
            "c_seconds_bucket{op=\"y\",le=\"+Inf\"} 3\n"
            "c_seconds_sum{op=\"y\"} 7.55\n"
            "c_seconds_count{op=\"y\"} 3\n");
  EXPECT_EQ(r.value("a_total", {{"op", "x"}}), 3);
  EXPECT_EQ(r.value("a_total", {{"op", "none"}}), 0);
}

TEST(MetricsRegistry, GaugesCanBeClearedAndLabelValuesAreEscaped) {
  MetricsRegistry r;
  r.declare("state", MetricsRegistry::Type::kGauge, "Info.");
  r.set("state", {{"why", "a\"b\\c\nd"}}, 1);
  EXPECT_NE(r.render().find("state{why=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << r.render();
  r.replace("state", {{"why", "other"}}, 0);
  EXPECT_EQ(r.render(), "# HELP state Info.\n# TYPE state gauge\nstate{why=\"other\"} 0\n");
}

TEST(MetricsRegistry, MisuseIsRefusedAtDeclarationAndHarmlessWhenRecording) {
  MetricsRegistry r;
  r.declare("x", MetricsRegistry::Type::kGauge, "X.");
  r.declare("x", MetricsRegistry::Type::kGauge, "X again: no-op.");
  EXPECT_THROW(r.declare("x", MetricsRegistry::Type::kCounter, "X."), std::logic_error);
  // Recording never throws (it runs in the HA loop): nothing is recorded.
  EXPECT_NO_THROW(r.add("x", {}));
  EXPECT_NO_THROW(r.set("undeclared", {}, 1));
  EXPECT_NO_THROW(r.observe("x", {}, 1));
  EXPECT_EQ(r.render(), "# HELP x X.\n# TYPE x gauge\n");
}

TEST(MetricsRegistry, ValuesAreWrittenShortAndExact) {
  EXPECT_EQ(format_metric_value(0), "0");
  EXPECT_EQ(format_metric_value(42), "42");
  EXPECT_EQ(format_metric_value(0.1), "0.1");
  EXPECT_EQ(format_metric_value(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(format_metric_value(1.0 / 0.0), "+Inf");
}

}  // namespace
}  // namespace custos
