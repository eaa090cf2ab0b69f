#include "ha/decision.h"

#include <sstream>

namespace custos::ha {

// Step::action() is the variant index: the alternatives must follow CUSTOS_HA_STEPS.
#define CUSTOS_HA_CHECK_ORDER(name, type)                                                        \
  static_assert(std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(Action::name), \
                                                          StepPayload>,                          \
                               step::type>,                                                     \
                "StepPayload alternative out of order: " #type);
CUSTOS_HA_STEPS(CUSTOS_HA_CHECK_ORDER)
#undef CUSTOS_HA_CHECK_ORDER
#define CUSTOS_HA_COUNT(name, type) +1
static_assert(std::variant_size_v<StepPayload> == 0 CUSTOS_HA_STEPS(CUSTOS_HA_COUNT),
              "StepPayload and CUSTOS_HA_STEPS differ");
#undef CUSTOS_HA_COUNT

std::string_view to_string(Action action) noexcept {
  switch (action) {
#define CUSTOS_HA_ACTION_NAME(name, type) \
  case Action::name:                      \
    return #name;
    CUSTOS_HA_STEPS(CUSTOS_HA_ACTION_NAME)
#undef CUSTOS_HA_ACTION_NAME
  }
  return "unknown";
}

bool is_conditional(Action action) noexcept {
  switch (action) {
    case Action::acquire_lock:
    case Action::update_lock:
    case Action::race_initialize:
    case Action::take_leader:
    case Action::write_sync_state:
    case Action::check_failsafe_topology:
    case Action::activate_watchdog:
      return true;
    default:
      return false;
  }
}

bool is_async(Action action) noexcept {
  switch (action) {
    case Action::bootstrap:
    case Action::clone:
    case Action::post_bootstrap:
    case Action::promote:
    case Action::demote:
    case Action::start_primary:
    case Action::crash_recovery:
    case Action::rewind:
    case Action::reinitialize:
    case Action::restart:
      return true;
    default:
      return false;
  }
}

std::string_view to_string(DemoteMode mode) noexcept {
  switch (mode) {
    case DemoteMode::offline: return "offline";
    case DemoteMode::graceful: return "graceful";
    case DemoteMode::immediate: return "immediate";
    case DemoteMode::immediate_nolock: return "immediate-nolock";
  }
  return "unknown";
}

std::string_view to_string(StopKind kind) noexcept {
  switch (kind) {
    case StopKind::fast: return "fast";
    case StopKind::immediate: return "immediate";
  }
  return "unknown";
}

namespace {

// The arguments of a step for to_string(Step): "" when it has none.
struct StepArguments {
  std::ostringstream out;
  void operator()(const step::Demote& s) { out << to_string(s.mode); }
  void operator()(const step::Follow& s) {
    out << (s.member.empty() ? "<none>" : s.member) << ", " << to_string(s.role) << (s.remote ? ", remote" : "")
        << (s.refresh_target ? ", refresh" : "");
  }
  void operator()(const step::SetRole& s) { out << to_string(s.role); }
  void operator()(const step::Clone& s) { out << s.member; }
  void operator()(const step::Rewind& s) { out << s.member << (s.remote ? ", remote" : ""); }
  void operator()(const step::Reinitialize& s) { out << s.member; }
  void operator()(const step::RewriteFailoverKey& s) { out << s.candidate; }
  void operator()(const step::Sleep& s) { out << s.seconds; }
  void operator()(const step::Log& s) { out << '\'' << s.line << '\''; }
  void operator()(const step::ReleaseLock& s) { out << (s.voluntarily ? "voluntarily" : ""); }
  void operator()(const step::StartPrimary& s) { out << s.timeout; }
  void operator()(const step::SetSynchronousStandbyNames& s) { out << '\'' << s.value << '\''; }
  void operator()(const step::FatalExit& s) { out << '\'' << s.reason << '\''; }
  void operator()(const step::StopPostgres& s) { out << to_string(s.kind); }
  void operator()(const step::CancelAsync& s) { out << '\'' << s.what << '\''; }
  void operator()(const step::WriteInitialize& s) { out << (s.create_new ? "create" : "update"); }
  void operator()(const step::SetIsLeader& s) { out << (s.value ? "true" : "false"); }
  void operator()(const step::SetFailsafeActive& s) { out << (s.value ? "true" : "false"); }
  void operator()(const step::Bootstrap& s) { out << (s.standby_leader ? "standby leader" : "new cluster"); }
  void operator()(const step::ClearFailoverKey& s) { out << (s.unconditional ? "unconditional" : "cas"); }
  void operator()(const step::UpdateLock& s) { out << (s.write_failsafe ? "with failsafe" : ""); }
  void operator()(const step::SyncReplicationSlots& s) { out << (s.dcs_failed ? "dcs failed" : ""); }
  template <class T>
  void operator()(const T&) {}
};

}  // namespace

std::string to_string(const Step& step) {
  StepArguments args;
  std::visit(args, step.payload);
  std::string out(to_string(step.action()));
  const std::string a = args.out.str();
  if (!a.empty()) out += "(" + a + ")";
  return out;
}

Decision::Decision(Action headline, std::vector<Step> steps_, std::string message_)
    : action(headline), steps(std::move(steps_)), message(std::move(message_)) {}

Decision Decision::branch(std::vector<Step> steps, Step conditional, Decision on_success,
                          Decision on_failure) {
  Decision d;
  d.action = conditional.action();
  steps.push_back(std::move(conditional));
  d.steps = std::move(steps);
  d.branches_.push_back(std::move(on_success));
  d.branches_.push_back(std::move(on_failure));
  return d;
}

Decision Decision::resolve(std::initializer_list<bool> outcomes) const {
  Decision out;
  const Decision* cur = this;
  auto it = outcomes.begin();
  while (true) {
    out.steps.insert(out.steps.end(), cur->steps.begin(), cur->steps.end());
    out.action = cur->action;
    out.message = cur->message;
    if (!cur->is_conditional() || it == outcomes.end()) break;
    cur = *it ? &cur->on_success() : &cur->on_failure();
    ++it;
  }
  return out;
}

void Decision::prepend(const std::vector<Step>& before) {
  steps.insert(steps.begin(), before.begin(), before.end());
}

bool Decision::has(Action a) const { return find(a) != nullptr; }

const Step* Decision::find(Action a) const {
  for (const Step& s : steps)
    if (s.action() == a) return &s;
  return nullptr;
}

std::string Decision::describe() const {
  std::ostringstream out;
  for (const Step& s : steps) out << to_string(s) << "; ";
  if (is_conditional()) {
    out << "{ok: " << on_success().describe() << "} {fail: " << on_failure().describe() << "}";
  } else {
    out << "=> [" << to_string(action) << "] \"" << message << '"';
  }
  return out.str();
}

}  // namespace custos::ha
