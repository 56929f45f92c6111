// Splitting one item's sweeps over threads: contiguous ranges of generators in memory order,
// so concatenating per-thread results in range order reproduces the sequential order exactly
// (results do not depend on the thread count).
#pragma once
#include <algorithm>
#include <cstdint>
#include <exception>
#include <thread>
#include <vector>

#include "cancel.hpp"
#include "filtration.hpp"

namespace cuph {

// Calls fn(begin, end, t) for `threads` contiguous ranges covering [0, n); range 0 runs on the
// calling thread. The first exception (lowest range) is rethrown after all ranges finish.
// How many ranges parallel_ranges uses for n generators: at least 4096 generators per range.
inline int ranges_for(int64_t n, int threads) {
  return int(std::max<int64_t>(1, std::min<int64_t>(threads, n / 4096 + 1)));
}

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

// Visits every generator of an item (padded index p) on up to `threads` threads:
// visit(part, p, shared), where each range owns a default-constructed Part (returned in range
// order) and `shared` says whether other ranges run at the same time.
template <class Part, int D, class F>
std::vector<Part> sweep_generators(const PaddedShape<D>& pad, int threads, CancelToken& cancel,
                                   F&& visit) {
  std::vector<Part> parts(size_t(ranges_for(pad.n_items, threads)));
  const bool shared = parts.size() > 1;
  parallel_ranges(pad.n_items, threads, [&](int64_t begin, int64_t end, int t) {
    CancelToken tc = cancel.fork();
    Part& part = parts[size_t(t)];
    pad.for_each(begin, end, [&](int64_t, int64_t p) {
      tc.poll();
      visit(part, p, shared);
    });
  });
  return parts;
}

}  // namespace cuph
