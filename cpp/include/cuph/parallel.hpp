// Splitting one item's sweeps over threads: contiguous ranges of generators in memory order,
// so concatenating per-thread results in range order reproduces the sequential order exactly
// (results do not depend on the thread count).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "cancel.hpp"
#include "filtration.hpp"
#include "threads.hpp"

namespace cuph {

// Visits every generator of an item on up to `threads` threads, in runs of up to kRun
// generators along a row: visit(part, p, n, shared) for padded indices p .. p + n - 1, so that
// per-generator work with a regular memory pattern (neighbour masks, Grid::before_masks) can
// run as vector loops over the run. Each range owns a default-constructed Part (returned in
// range order); `shared` says whether other ranges run at the same time.
constexpr int kRun = 64;
template <class Part, int D, class F>
std::vector<Part> sweep_runs(const PaddedShape<D>& pad, int threads, CancelToken& cancel,
                             F&& visit) {
  std::vector<Part> parts(size_t(ranges_for(pad.n_items, threads)));
  const bool shared = parts.size() > 1;
  parallel_ranges(pad.n_items, threads, [&](int64_t begin, int64_t end, int t) {
    CancelToken tc = cancel.fork();
    Part& part = parts[size_t(t)];
    pad.for_each_run(begin, end, [&](int64_t, int64_t p, int64_t n) {
      for (int64_t x = 0; x < n; x += kRun) {
        tc.poll();
        visit(part, p + x, int(std::min<int64_t>(kRun, n - x)), shared);
      }
    });
  });
  return parts;
}

}  // namespace cuph
