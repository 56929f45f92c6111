// Cooperative cancellation: long loops poll a flag that the caller (e.g. a Ctrl-C handler) sets.
#pragma once
#include <atomic>
#include <stdexcept>

namespace cuph {

struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("cuph: computation cancelled") {}
};

class CancelToken {
 public:
  explicit CancelToken(const std::atomic<bool>* flag = nullptr) : flag_(flag) {}
  // Cheap enough for inner loops: the atomic load happens once every 2^14 calls.
  void poll() {
    if (flag_ && (++tick_ & 0x3fff) == 0 && flag_->load(std::memory_order_relaxed)) throw Cancelled();
  }
  // A token for another thread (the tick counter is per thread).
  CancelToken fork() const { return CancelToken(flag_); }
  void check() const {
    if (flag_ && flag_->load(std::memory_order_relaxed)) throw Cancelled();
  }

 private:
  const std::atomic<bool>* flag_;
  unsigned tick_ = 0;
};

}  // namespace cuph
