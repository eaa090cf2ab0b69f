#include "dcs/instrumented_dcs.h"

#include <chrono>

namespace custos::dcs {

namespace {
constexpr const char* kDuration = "custos_dcs_request_duration_seconds";
constexpr const char* kErrors = "custos_dcs_request_errors_total";
}  // namespace

InstrumentedDcs::InstrumentedDcs(Dcs& inner, MetricsRegistry& metrics) : inner_(inner), metrics_(metrics) {
  metrics_.declare(kDuration, MetricsRegistry::Type::kHistogram,
                   "Time a DCS request took, retries included, by operation.",
                   {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10});
  metrics_.declare(kErrors, MetricsRegistry::Type::kCounter,
                   "DCS requests that failed, by operation and error kind (unreachable, cas_conflict, ...).");
}

template <class Call>
auto InstrumentedDcs::measured(const char* operation, Call&& call) {
  const auto start = std::chrono::steady_clock::now();
  auto result = call();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.observe(kDuration, {{"operation", operation}}, seconds);
  if (!result) metrics_.add(kErrors, {{"operation", operation}, {"kind", std::string(to_string(result.error().kind))}});
  return result;
}

DcsResult<Cluster> InstrumentedDcs::get_cluster() {
  return measured("get_cluster", [&] { return inner_.get_cluster(); });
}
DcsResult<Cluster> InstrumentedDcs::get_cluster_fresh() {
  return measured("get_cluster_fresh", [&] { return inner_.get_cluster_fresh(); });
}
DcsResult<Cluster> InstrumentedDcs::get_mpp_coordinator() {
  return measured("get_mpp_coordinator", [&] { return inner_.get_mpp_coordinator(); });
}
DcsStatus InstrumentedDcs::attempt_to_acquire_leader() {
  return measured("attempt_to_acquire_leader", [&] { return inner_.attempt_to_acquire_leader(); });
}
DcsStatus InstrumentedDcs::update_leader(const LeaderRefresh& refresh) {
  return measured("update_leader", [&] { return inner_.update_leader(refresh); });
}
DcsStatus InstrumentedDcs::delete_leader(std::optional<int64_t> last_lsn) {
  return measured("delete_leader", [&] { return inner_.delete_leader(last_lsn); });
}
DcsStatus InstrumentedDcs::take_leader() {
  return measured("take_leader", [&] { return inner_.take_leader(); });
}
DcsStatus InstrumentedDcs::initialize(bool create_new, const std::string& sysid) {
  return measured("initialize", [&] { return inner_.initialize(create_new, sysid); });
}
DcsStatus InstrumentedDcs::cancel_initialization() {
  return measured("cancel_initialization", [&] { return inner_.cancel_initialization(); });
}
DcsStatus InstrumentedDcs::touch_member(const nlohmann::json& data) {
  return measured("touch_member", [&] { return inner_.touch_member(data); });
}
DcsResult<Version> InstrumentedDcs::set_config_value(const std::string& value, std::optional<Version> version) {
  return measured("set_config_value", [&] { return inner_.set_config_value(value, version); });
}
DcsResult<Version> InstrumentedDcs::set_failover_value(const std::string& value, std::optional<Version> version) {
  return measured("set_failover_value", [&] { return inner_.set_failover_value(value, version); });
}
DcsResult<Version> InstrumentedDcs::set_sync_state_value(const std::string& value, std::optional<Version> version) {
  return measured("set_sync_state_value", [&] { return inner_.set_sync_state_value(value, version); });
}
DcsStatus InstrumentedDcs::delete_sync_state(std::optional<Version> version) {
  return measured("delete_sync_state", [&] { return inner_.delete_sync_state(version); });
}
DcsStatus InstrumentedDcs::set_history_value(const std::string& value) {
  return measured("set_history_value", [&] { return inner_.set_history_value(value); });
}
DcsStatus InstrumentedDcs::write_status(const nlohmann::json& status) {
  return measured("write_status", [&] { return inner_.write_status(status); });
}
DcsStatus InstrumentedDcs::write_failsafe(const nlohmann::json& failsafe) {
  return measured("write_failsafe", [&] { return inner_.write_failsafe(failsafe); });
}
DcsStatus InstrumentedDcs::delete_cluster() {
  return measured("delete_cluster", [&] { return inner_.delete_cluster(); });
}

}  // namespace custos::dcs
