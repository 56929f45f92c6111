// Splitting one item's sweeps over threads: contiguous ranges of generators in memory order,
// so concatenating per-thread results in range order reproduces the sequential order exactly
// (results do not depend on the thread count).
#pragma once
#include <cstdint>
#include <vector>

#include "cancel.hpp"
#include "filtration.hpp"
#include "threads.hpp"

namespace cuph {

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
