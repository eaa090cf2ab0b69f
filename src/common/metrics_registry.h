// MetricsRegistry: custos's own Prometheus families (counters, gauges, histograms with labels),
// recorded by the HA loop, the DCS client and the REST server, and rendered in the text
// exposition format after Patroni's families on GET /metrics. Families are declared once (name,
// help, type, histogram buckets). Declaring a name twice with two types throws std::logic_error
// (a programming error, found at start-up); recording into an undeclared family (or with the
// wrong type) records nothing and logs an error once: a metric never stops the HA loop. Label
// values are escaped on output. Thread-safe: any thread may record or render; recording takes one
// short lock and never blocks on I/O.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/thread_annotations.h"

namespace custos {

class MetricsRegistry {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  enum class Type { kCounter, kGauge, kHistogram };

  // Declares a family; declaring it again with the same type is a no-op. `buckets` (upper
  // bounds, ascending; +Inf is implied) for histograms only.
  void declare(const std::string& name, Type type, const std::string& help, std::vector<double> buckets = {})
      EXCLUDES(mu_);

  void add(const std::string& name, const Labels& labels, double value = 1) EXCLUDES(mu_);  // counter
  void set(const std::string& name, const Labels& labels, double value) EXCLUDES(mu_);      // gauge
  void observe(const std::string& name, const Labels& labels, double value) EXCLUDES(mu_);  // histogram
  // Replaces every series of a gauge family by this one, atomically for render() (for "info"
  // gauges that name the current state: a scrape never sees the family empty).
  void replace(const std::string& name, const Labels& labels, double value) EXCLUDES(mu_);

  // Current value of a counter or gauge series (0 when absent), for tests and /ui.
  double value(const std::string& name, const Labels& labels) const EXCLUDES(mu_);

  // The text exposition format of every declared family, each with HELP and TYPE, series in
  // label order; families without a series print HELP and TYPE only.
  std::string render() const EXCLUDES(mu_);

 private:
  struct Series {
    double value = 0;                  // counter / gauge; histogram: sum
    std::vector<uint64_t> bucket_counts;  // histogram: per bucket (not cumulative)
    uint64_t count = 0;                // histogram
  };
  struct Family {
    Type type = Type::kGauge;
    std::string help;
    std::vector<double> buckets;
    std::map<std::string, Series> series;  // key: rendered label set "{a=\"x\",b=\"y\"}"
  };
  // nullptr (and an error logged once per name) when not declared with that type.
  Family* family(const std::string& name, Type expected) REQUIRES(mu_);

  mutable Mutex mu_;
  std::vector<std::string> order_ GUARDED_BY(mu_);  // declaration order
  std::map<std::string, Family> families_ GUARDED_BY(mu_);
  std::map<std::string, bool> misuse_logged_ GUARDED_BY(mu_);
};

// Prometheus text helpers shared with the REST API's Patroni families.
std::string escape_label_value(std::string_view value);
std::string render_labels(const MetricsRegistry::Labels& labels);  // "{a=\"x\"}" or "" when empty
std::string format_metric_value(double value);                     // "1", "0.25", "+Inf", "NaN"

}  // namespace custos
