// Splitting a loop over [0, n) into contiguous ranges on threads. Ranges are a pure function of
// (n, threads), so two loops over the same n see the same partition (the radix sort relies on
// it) and concatenating per-range results in range order reproduces the sequential order.
#pragma once
#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

namespace cuph {

// How many ranges parallel_ranges uses for n elements: at least 4096 elements per range.
inline int ranges_for(int64_t n, int threads) {
  return int(std::max<int64_t>(1, std::min<int64_t>(threads, n / 4096 + 1)));
}

// Calls fn(begin, end, t) for ranges_for(n, threads) contiguous ranges covering [0, n); range 0
// runs on the calling thread. The first exception (lowest range) is rethrown after all ranges
// finish.
template <class F> void parallel_ranges(int64_t n, int threads, F&& fn) {
  threads = ranges_for(n, threads);
  if (threads == 1) {
    fn(int64_t(0), n, 0);
    return;
  }
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  auto run = [&](int t) {
    try {
      fn(n * t / threads, n * (t + 1) / threads, t);
    } catch (...) {
      errors[size_t(t)] = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(run, t);
  run(0);
  for (auto& th : pool) th.join();
  for (auto& e : errors)
    if (e) std::rethrow_exception(e);
}

}  // namespace cuph
