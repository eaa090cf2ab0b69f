#include "config/merge.h"

namespace custos::config {

namespace {

// Values that Python's str() renders the same are "unchanged" for Patroni (e.g. 1 vs "1").
bool same_value(const json& a, const json& b) {
  if (a == b) return true;
  if (a.is_string() && b.is_number()) return a.get<std::string>() == b.dump();
  if (b.is_string() && a.is_number()) return b.get<std::string>() == a.dump();
  return false;
}

}  // namespace

bool patch_config(json& target, const json& patch) {
  if (!patch.is_object()) {
    if (target == patch) return false;
    target = patch;
    return true;
  }
  if (!target.is_object()) {
    target = json::object();
  }
  bool changed = false;
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    const std::string& name = it.key();
    const json& value = it.value();
    if (value.is_null()) {
      auto found = target.find(name);
      if (found != target.end()) {
        if (!found->is_null()) changed = true;
        target.erase(found);
      }
    } else if (target.contains(name)) {
      json& current = target[name];
      if (value.is_object()) {
        if (current.is_object()) {
          if (patch_config(current, value)) changed = true;
        } else {
          current = value;
          changed = true;
        }
      } else if (!same_value(current, value)) {
        current = value;
        changed = true;
      }
    } else {
      target[name] = value;
      changed = true;
    }
  }
  return changed;
}

json merge_patch(json target, const json& patch) {
  patch_config(target, patch);
  return target;
}

}  // namespace custos::config
