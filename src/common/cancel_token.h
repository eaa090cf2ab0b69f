// CancelToken: asks a long operation (a base backup, a wait for PostgreSQL to start, a rewind)
// to stop at its next check point. Each asynchronous task gets a token of its own, so that
// cancelling one never leaks into the next. Copies share the flag.
//
// Thread: any. Blocking: never.
#pragma once

#include <atomic>
#include <memory>

namespace custos {

class CancelToken {
 public:
  CancelToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  void cancel() const { flag_->store(true); }
  bool cancelled() const { return flag_->load(); }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

}  // namespace custos
