// Where a run of the GPU engine spends its time, launch by launch, without a profiler (the lent
// GPU machines may have none that works, and their leases are short): when switched on, each
// launcher synchronizes before and after every launch, allocation and transfer and adds the
// wall time to that step's name. Off by default: the synchronizations cost the overlap of
// launches. One profile per launcher (per module): `_cuda._profile`, `_core._portable_profile`.
// Plain C++ (nvcc compiles it into launch.cu).
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace cuph {
namespace gpu {

class LaunchProfile {
 public:
  using Clock = std::chrono::steady_clock;
  std::atomic<bool> on{false};

  void add(const std::string& what, Clock::time_point since) {
    const double s = std::chrono::duration<double>(Clock::now() - since).count();
    std::lock_guard<std::mutex> lock(mutex_);
    auto& e = steps_[what];
    e.first += 1;
    e.second += s;
  }
  // Every step's (calls, seconds) so far, then forgets them.
  std::map<std::string, std::pair<int64_t, double>> take() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::map<std::string, std::pair<int64_t, double>> out;
    out.swap(steps_);
    return out;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::pair<int64_t, double>> steps_;
};

inline LaunchProfile& launch_profile() {
  static LaunchProfile p;
  return p;
}

// Times one step when the profile is on: sync() (the launcher's wait for the device) before the
// clock starts and before it stops.
template <class Sync> class ProfiledStep {
 public:
  ProfiledStep(const char* what, Sync sync) : what_(what), sync_(sync) {
    if (!launch_profile().on.load(std::memory_order_relaxed)) return;
    timed_ = true;
    sync_();
    start_ = LaunchProfile::Clock::now();
  }
  // Called when the step succeeded (an error leaves it out of the profile).
  void done() {
    if (!timed_) return;
    sync_();
    launch_profile().add(what_, start_);
  }

 private:
  const char* what_;
  Sync sync_;
  bool timed_ = false;
  LaunchProfile::Clock::time_point start_;
};

}  // namespace gpu
}  // namespace cuph
