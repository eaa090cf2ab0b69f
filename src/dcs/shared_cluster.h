// SharedCluster: an optional, immutable Cluster that copies share instead of duplicating. The
// HA loop hands one cluster view to several holders each cycle (the current view, the last view
// with a leader, the decision's input, the REST snapshot); with std::optional<Cluster> each of
// them was a deep copy of every member. It reads like std::optional<Cluster> (bool test, *, ->,
// has_value, value, reset, assignment from a Cluster or std::nullopt), so code and tests written
// against the optional keep working.
//
// Thread: a SharedCluster object is not synchronized (like std::optional); the Cluster it points
// to is never changed, so copies may be read from any thread.
#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "dcs/cluster.h"

namespace custos::dcs {

class SharedCluster {
 public:
  SharedCluster() = default;
  SharedCluster(std::nullopt_t) {}  // NOLINT(google-explicit-constructor): reads like the optional
  SharedCluster(Cluster c)          // NOLINT(google-explicit-constructor)
      : ptr_(std::make_shared<const Cluster>(std::move(c))) {}
  // A deep copy: explicit, so that no hot path makes one without saying so.
  explicit SharedCluster(const std::optional<Cluster>& c) : ptr_(c ? std::make_shared<const Cluster>(*c) : nullptr) {}
  explicit SharedCluster(std::shared_ptr<const Cluster> p) : ptr_(std::move(p)) {}

  explicit operator bool() const { return ptr_ != nullptr; }
  bool has_value() const { return ptr_ != nullptr; }
  const Cluster& operator*() const { return *ptr_; }
  const Cluster* operator->() const { return ptr_.get(); }
  const Cluster& value() const {
    if (!ptr_) throw std::logic_error("SharedCluster: no cluster");
    return *ptr_;
  }
  void reset() { ptr_.reset(); }
  // The shared pointer itself (null when empty), for holders that keep it beyond this object.
  const std::shared_ptr<const Cluster>& pointer() const { return ptr_; }

 private:
  std::shared_ptr<const Cluster> ptr_;
};

}  // namespace custos::dcs
