// The filtration of one item as ranks: generators (vertices for V, top cells for T) sorted by
// (value, flat index). Every later comparison of cells is an integer comparison of ranks, so the
// algorithms never touch the user's dtype again.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "array_view.hpp"

namespace cuph {

struct Ranking {
  std::vector<uint32_t> order;  // order[r] = flat index of the generator of rank r
  std::vector<uint32_t> rank;   // rank[i]  = rank of generator i
};

// Stable LSD radix sort of indices 0..n-1 by keys; ties keep index order, which makes the
// tie-break (value, index) without comparing indices. Only the digits in which keys differ are
// sorted, so 8-bit images take one pass and float32 maps at most four.
inline void radix_argsort(std::vector<uint64_t>& keys, std::vector<uint32_t>& order) {
  const size_t n = keys.size();
  order.resize(n);
  for (size_t i = 0; i < n; ++i) order[i] = uint32_t(i);
  if (n < 2) return;
  uint64_t lo = keys[0], hi = keys[0];
  for (uint64_t k : keys) { lo = std::min(lo, k); hi = std::max(hi, k); }
  const uint64_t range = hi - lo;
  if (range == 0) return;
  for (uint64_t& k : keys) k -= lo;
  int bits = 64 - __builtin_clzll(range);
  constexpr int R = 11;  // digit width: 3 passes cover 33 bits
  std::vector<uint64_t> tk(n);
  std::vector<uint32_t> ti(n);
  std::vector<size_t> count(size_t(1) << R);
  for (int shift = 0; shift < bits; shift += R) {
    std::fill(count.begin(), count.end(), 0);
    const uint64_t mask = (uint64_t(1) << R) - 1;
    for (size_t i = 0; i < n; ++i) ++count[(keys[i] >> shift) & mask];
    size_t sum = 0;
    for (auto& c : count) { size_t t = c; c = sum; sum += t; }
    for (size_t i = 0; i < n; ++i) {
      size_t pos = count[(keys[i] >> shift) & mask]++;
      tk[pos] = keys[i];
      ti[pos] = order[i];
    }
    keys.swap(tk);
    order.swap(ti);
  }
}

inline Ranking rank_values(const ItemView& v, bool negate) {
  Ranking r;
  {
    std::vector<uint64_t> keys;
    load_keys(v, negate, keys);
    radix_argsort(keys, r.order);
  }
  r.rank.resize(r.order.size());
  for (size_t i = 0; i < r.order.size(); ++i) r.rank[r.order[i]] = uint32_t(i);
  return r;
}

}  // namespace cuph
