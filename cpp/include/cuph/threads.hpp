// Splitting a loop over [0, n) into contiguous ranges on threads. Ranges are a pure function of
// (n, threads), so two loops over the same n see the same partition (the radix sort relies on
// it) and concatenating per-range results in range order reproduces the sequential order.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "cancel.hpp"
#include "errors.hpp"
#include "thread_pool.hpp"

namespace cuph {

// How many ranges parallel_ranges uses for n elements: at least 4096 elements per range.
inline int ranges_for(int64_t n, int threads) {
  return int(std::max<int64_t>(1, std::min<int64_t>(threads, n / 4096 + 1)));
}

// Calls fn(t) for t in [0, threads), each on a thread of a team (t = 0: the calling one).
// The first exception (lowest t) is rethrown after all have finished.
template <class F> void run_threads(int threads, F&& fn) {
  if (threads == 1) {
    fn(0);
    return;
  }
  std::vector<Failure> errors(static_cast<size_t>(threads));
  ThreadPool::instance().run_team(threads, [&](int t) {
    try {
      fn(t);
    } catch (...) {
      errors[size_t(t)].capture();
    }
  });
  for (const Failure& e : errors)
    if (e) e.raise();
}

// Calls fn(begin, end, t) for ranges_for(n, threads) contiguous ranges covering [0, n); range 0
// runs on the calling thread. The first exception (lowest range) is rethrown after all ranges
// finish.
template <class F> void parallel_ranges(int64_t n, int threads, F&& fn) {
  threads = ranges_for(n, threads);
  run_threads(threads, [&](int t) { fn(n * t / threads, n * (t + 1) / threads, t); });
}

// The failing item with the lowest index, or item == -1 when every item succeeded.
struct FirstFailure {
  int64_t item = -1;
  Failure error;
};

// Runs items [0, n) on min(threads, n) threads taking the next item from a shared counter.
// make_worker() is called once per thread and returns that thread's callable
// run(int64_t item, CancelToken&) (so per-thread scratch lives in the callable). After a failure
// no new item starts; of the items that failed, the one with the lowest index is returned, so
// error messages do not depend on scheduling.
template <class MakeWorker>
FirstFailure for_each_item(int64_t n, int threads, const std::atomic<bool>* cancel_flag,
                           MakeWorker make_worker) {
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  FirstFailure first;
  std::mutex first_mutex;
  auto loop = [&]() {
    auto run = make_worker();
    CancelToken cancel(cancel_flag);
    while (!failed.load(std::memory_order_relaxed)) {
      const int64_t i = next.fetch_add(1);
      if (i >= n) break;
      try {
        cancel.check();
        run(i, cancel);
      } catch (...) {
        std::lock_guard<std::mutex> lock(first_mutex);
        if (first.item < 0 || i < first.item) {
          first.item = i;
          first.error = Failure();
          first.error.capture();
        }
        failed = true;
      }
    }
  };
  const int pool_size = int(std::max<int64_t>(1, std::min<int64_t>(threads, n)));
  if (pool_size == 1)
    loop();
  else
    ThreadPool::instance().run_team(pool_size, [&](int) { loop(); });
  return first;
}

}  // namespace cuph
