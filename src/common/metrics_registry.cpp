#include "common/metrics_registry.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include <spdlog/spdlog.h>

namespace custos {

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string render_labels(const MetricsRegistry::Labels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i)
    out += (i ? "," : "") + labels[i].first + "=\"" + escape_label_value(labels[i].second) + "\"";
  return out + "}";
}

std::string format_metric_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {  // the shortest text that reads back as v
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

void MetricsRegistry::declare(const std::string& name, Type type, const std::string& help, std::vector<double> buckets) {
  MutexLock lk(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    if (it->second.type != type) throw std::logic_error("metric " + name + " declared twice with other types");
    return;
  }
  Family f;
  f.type = type;
  f.help = help;
  f.buckets = std::move(buckets);
  families_.emplace(name, std::move(f));
  order_.push_back(name);
}

MetricsRegistry::Family* MetricsRegistry::family(const std::string& name, Type expected) {
  auto it = families_.find(name);
  if (it != families_.end() && it->second.type == expected) return &it->second;
  if (!misuse_logged_[name]) {
    misuse_logged_[name] = true;
    spdlog::error("metric {} is not declared with the type it is recorded as: not recorded", name);
  }
  return nullptr;
}

void MetricsRegistry::add(const std::string& name, const Labels& labels, double value) {
  MutexLock lk(mu_);
  if (Family* f = family(name, Type::kCounter)) f->series[render_labels(labels)].value += value;
}

void MetricsRegistry::set(const std::string& name, const Labels& labels, double value) {
  MutexLock lk(mu_);
  if (Family* f = family(name, Type::kGauge)) f->series[render_labels(labels)].value = value;
}

void MetricsRegistry::replace(const std::string& name, const Labels& labels, double value) {
  MutexLock lk(mu_);
  Family* f = family(name, Type::kGauge);
  if (!f) return;
  f->series.clear();
  f->series[render_labels(labels)].value = value;
}

void MetricsRegistry::observe(const std::string& name, const Labels& labels, double value) {
  MutexLock lk(mu_);
  Family* found = family(name, Type::kHistogram);
  if (!found) return;
  Family& f = *found;
  Series& s = f.series[render_labels(labels)];
  if (s.bucket_counts.size() != f.buckets.size()) s.bucket_counts.assign(f.buckets.size(), 0);
  for (std::size_t i = 0; i < f.buckets.size(); ++i)
    if (value <= f.buckets[i]) {
      ++s.bucket_counts[i];
      break;
    }
  s.value += value;
  ++s.count;
}

double MetricsRegistry::value(const std::string& name, const Labels& labels) const {
  MutexLock lk(mu_);
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto s = it->second.series.find(render_labels(labels));
  return s == it->second.series.end() ? 0 : s->second.value;
}

namespace {
// Adds `le` as the last label of a rendered label set.
std::string with_le(const std::string& labels, const std::string& le) {
  if (labels.empty()) return "{le=\"" + le + "\"}";
  return labels.substr(0, labels.size() - 1) + ",le=\"" + le + "\"}";
}
}  // namespace

std::string MetricsRegistry::render() const {
  MutexLock lk(mu_);
  std::string out;
  for (const auto& name : order_) {
    const Family& f = families_.at(name);
    const char* type = f.type == Type::kCounter ? "counter" : f.type == Type::kGauge ? "gauge" : "histogram";
    out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& [labels, s] : f.series) {
      if (f.type != Type::kHistogram) {
        out += name + labels + " " + format_metric_value(s.value) + "\n";
        continue;
      }
      uint64_t cumulative = 0;
      for (std::size_t i = 0; i < f.buckets.size(); ++i) {
        cumulative += i < s.bucket_counts.size() ? s.bucket_counts[i] : 0;
        out += name + "_bucket" + with_le(labels, format_metric_value(f.buckets[i])) + " " +
               std::to_string(cumulative) + "\n";
      }
      out += name + "_bucket" + with_le(labels, "+Inf") + " " + std::to_string(s.count) + "\n";
      out += name + "_sum" + labels + " " + format_metric_value(s.value) + "\n";
      out += name + "_count" + labels + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

}  // namespace custos
