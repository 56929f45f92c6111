// The filtration of one item as ranks: generators (vertices for V, top cells for T) sorted by
// (value, flat index). Every later comparison of cells is an integer comparison of ranks, so the
// algorithms never touch the user's dtype again.
//
// Ranks live on a padded grid (one layer of border generators around the item, rank
// kBorderRank) so that neighbour lookups need no bounds checks: a border vertex is never lower
// than anything (V), a border top cell never owns anything and stands for the outside (T).
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "array_view.hpp"
#include "threads.hpp"
#include "uninit_allocator.hpp"

namespace cuph {

constexpr uint32_t kBorderRank = ~0u;

struct Ranking {
  UninitVector<uint32_t> order;  // order[r] = padded index of the generator of rank r
  UninitVector<uint32_t> rank;   // rank[p]  = rank of the generator at padded index p
};

// Stable LSD radix sort of (key, payload) by key; ties keep their input order, which makes the
// tie-break "value, then flat index" free. Only the digits in which keys differ are sorted, so
// 8-bit images take one pass and float32 maps at most three (digits of key - min; the keys
// themselves are only permuted). With `threads` > 1 every pass
// counts and scatters contiguous ranges in parallel: range t's elements of one digit go after
// those of ranges < t, so the result is the sequential one.
// The buffers are vectors of the arguments' types (uninitialised for UninitVector's).
template <class Keys, class Payload>
void radix_sort(Keys& keys, Payload& payload, int threads = 1) {
  using K = typename Keys::value_type;
  const size_t n = keys.size();
  if (n < 2) return;
  K lo = keys[0], hi = keys[0];
  for (K k : keys) { lo = std::min(lo, k); hi = std::max(hi, k); }
  const uint64_t range = uint64_t(hi - lo);
  if (range == 0) return;
  const int bits = 64 - __builtin_clzll(range);
  // Digits of 11 bits (three passes over 32) from 2^16 keys; 8 bits (four) for fewer, whose
  // histograms would outweigh them, and for 2^20 and more 32-bit keys: beyond the caches,
  // 2048 scatter targets per pass miss more than a fourth pass costs (ranks of 128^3: -10%
  // sort time; of 80^3, 11 bits stay 10% faster). 64-bit keys (graph edges) were not measured.
  // Below 256 keys (the critical joins of a smooth 56x56 map) 6-bit digits: a pass then costs
  // n + 64 instead of n + 256.
  const bool huge = sizeof(K) <= 4 && n >= (size_t(1) << 20);
  const int R = n < 256 ? 6 : n < (size_t(1) << 16) || huge ? 8 : 11;
  const size_t buckets = size_t(1) << R;
  const int parts = ranges_for(int64_t(n), threads);
  Keys tk(n);
  Payload tp(n);
  if (parts == 1) {  // one thread: the histograms of every digit in one read of the keys
    const int digits = (bits + R - 1) / R;
    const uint64_t m = (uint64_t(1) << R) - 1;
    // Small sorts (two per pass of every map in a batch) count on the stack: a zeroed heap
    // vector per call was 27% of a 2-D batch's page faults.
    const size_t n_hist = size_t(digits) << R;
    size_t on_stack[4 << 8];  // four 8-bit digits: a small sort (R = 8) of 32-bit keys
    std::vector<size_t> on_heap;
    size_t* hist = on_stack;
    if (n_hist > sizeof(on_stack) / sizeof(size_t)) {
      on_heap.resize(n_hist);
      hist = on_heap.data();
    } else {
      std::fill(hist, hist + n_hist, size_t(0));
    }
    for (const K k : keys) {
      const uint64_t v = uint64_t(k - lo);
      for (int d = 0; d < digits; ++d) ++hist[(size_t(d) << R) + ((v >> (d * R)) & m)];
    }
    for (int d = 0; d < digits; ++d) {
      size_t* c = &hist[size_t(d) << R];
      const int shift = d * R;
      if (c[(uint64_t(keys[0] - lo) >> shift) & m] == n) continue;  // one digit everywhere
      size_t sum = 0;
      for (size_t b = 0; b <= m; ++b) {
        const size_t here = c[b];
        c[b] = sum;
        sum += here;
      }
      for (size_t i = 0; i < n; ++i) {
        const size_t pos = c[(uint64_t(keys[i] - lo) >> shift) & m]++;
        tk[pos] = keys[i];
        tp[pos] = payload[i];
      }
      keys.swap(tk);
      payload.swap(tp);
    }
    return;
  }
  std::vector<size_t> count(buckets * size_t(parts));  // count[part * buckets + digit]
  const uint64_t mask = buckets - 1;
  for (int shift = 0; shift < bits; shift += R) {
    parallel_ranges(int64_t(n), parts, [&](int64_t b, int64_t e, int t) {
      size_t* c = &count[size_t(t) * buckets];
      std::fill(c, c + buckets, 0);
      for (int64_t i = b; i < e; ++i) ++c[((keys[size_t(i)] - lo) >> shift) & mask];
    });
    const size_t first = ((keys[0] - lo) >> shift) & mask;
    size_t same = 0;
    for (int t = 0; t < parts; ++t) same += count[size_t(t) * buckets + first];
    if (same == n) continue;  // one digit everywhere: no pass
    size_t sum = 0;
    for (size_t d = 0; d < buckets; ++d)
      for (int t = 0; t < parts; ++t) {
        size_t& c = count[size_t(t) * buckets + d];
        const size_t here = c;
        c = sum;
        sum += here;
      }
    parallel_ranges(int64_t(n), parts, [&](int64_t b, int64_t e, int t) {
      size_t* c = &count[size_t(t) * buckets];
      for (int64_t i = b; i < e; ++i) {
        const size_t pos = c[((keys[size_t(i)] - lo) >> shift) & mask]++;
        tk[pos] = keys[size_t(i)];
        tp[pos] = payload[size_t(i)];
      }
    });
    keys.swap(tk);
    payload.swap(tp);
  }
}

// A stable sort of payload by 64-bit keys spanning 2^32 values or more (keys[i] is payload[i]'s
// key on entry, key(x) that of a payload x, all in [lo, hi]): a radix sort of the top 32 bits
// of key - lo (three passes instead of up to six), then each run of equal tops by the full
// key, ties by `before(x, y)` (the payload's input order: stability). Runs are short unless
// many values lie within a 2^-32 fraction of the range of each other. `top` is scratch.
template <class Payload, class Keys, class Key, class Before, class Top>
void sort_by_top_bits(Payload& payload, const Keys& keys, Key key, Before before, uint64_t lo,
                      uint64_t hi, Top& top, int threads = 1) {
  static_assert(sizeof(typename Keys::value_type) == 8, "64-bit keys");
  const int shift = 32 - __builtin_clzll(hi - lo);
  const size_t n = payload.size();
  top.resize(n);
  parallel_ranges(int64_t(n), threads, [&](int64_t b, int64_t e, int) {
    for (size_t i = size_t(b); i < size_t(e); ++i)
      top[i] = uint32_t((uint64_t(keys[i]) - lo) >> shift);
  });
  radix_sort(top, payload, threads);
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && top[j] == top[i]) ++j;
    if (j - i > 1)
      std::sort(payload.begin() + int64_t(i), payload.begin() + int64_t(j),
                [&](uint32_t a, uint32_t b) {
                  const uint64_t ka = key(a), kb = key(b);
                  return ka < kb || (ka == kb && before(a, b));
                });
    i = j;
  }
}

// The padded grid: item shape + 2 on every axis, C order.
template <int D> struct PaddedShape {
  int64_t shape[D], stride[D], size, n_items;
  explicit PaddedShape(const int64_t* item_shape) {
    size = 1;
    n_items = 1;
    for (int i = D - 1; i >= 0; --i) {
      shape[i] = item_shape[i] + 2;
      stride[i] = size;
      size *= shape[i];
      n_items *= item_shape[i];
    }
  }
  // Calls f(flat index, padded index) for every generator of the item, in C order.
  template <class F> void for_each(F&& f) const { for_each(0, n_items, f); }
  // The same for the generators with flat index in [begin, end).
  template <class F> void for_each(int64_t begin, int64_t end, F&& f) const {
    for_each_run(begin, end, [&](int64_t j, int64_t p, int64_t n) {
      for (int64_t x = 0; x < n; ++x) f(j + x, p + x);  // along a row: consecutive indices
    });
  }
  // Calls f(flat index, padded index, n) for each run of n generators along a row (consecutive
  // flat and padded indices) with flat index in [begin, end), in C order.
  template <class F> void for_each_run(int64_t begin, int64_t end, F&& f) const {
    if (begin >= end) return;
    int64_t idx[D] = {};
    for (int64_t i = D - 1, rest = begin; i >= 0; --i) {
      idx[i] = rest % (shape[i] - 2);
      rest /= shape[i] - 2;
    }
    const int64_t row = shape[D - 1] - 2;
    for (int64_t j = begin; j < end;) {
      int64_t p = 0;
      for (int i = 0; i < D; ++i) p += (idx[i] + 1) * stride[i];
      const int64_t stop = std::min(end - j, row - idx[D - 1]);
      f(j, p, stop);
      j += stop;
      idx[D - 1] = 0;
      for (int i = D - 2; i >= 0; --i) {
        if (++idx[i] < shape[i] - 2) break;
        idx[i] = 0;
      }
    }
  }
  // data[p] = value for every border generator p and for the one slot after the grid (the
  // outside); the item's own entries are left as they are.
  template <class T> void fill_border(T* data, T value) const {
    const int64_t row = shape[D - 1];
    int64_t idx[D] = {};  // the padded row's coordinates on the other axes
    for (int64_t start = 0; start < size; start += row) {
      bool inner = true;
      for (int i = 0; i < D - 1; ++i) inner &= idx[i] >= 1 && idx[i] <= shape[i] - 2;
      if (inner) {
        data[start] = value;
        data[start + row - 1] = value;
      } else {
        std::fill(data + start, data + start + row, value);
      }
      for (int i = D - 2; i >= 0; --i) {
        if (++idx[i] < shape[i]) break;
        idx[i] = 0;
      }
    }
    data[size] = value;
  }
  // Padded index -> C-order flat index into the item.
  int64_t unpad(int64_t p) const {
    CUPH_ASSERT(p >= 0 && p < size);
    int64_t flat = 0, scale = 1;
    for (int i = D - 1; i >= 0; --i) {
      flat += (p % shape[i] - 1) * scale;
      scale *= shape[i] - 2;
      p /= shape[i];
    }
    return flat;
  }
};

// The smallest and largest key of an item (lo = hi = 0 for no keys). Computed once per item
// and handed to whichever of rank_keys, pack_keys and pack_values the item takes.
struct KeyRange {
  uint64_t lo = 0, hi = 0;
};
inline KeyRange key_range(const uint64_t* keys, size_t n) {
  if (n == 0) return {};
  KeyRange r{keys[0], keys[0]};
  for (size_t i = 1; i < n; ++i) {
    r.lo = std::min(r.lo, keys[i]);
    r.hi = std::max(r.hi, keys[i]);
  }
  return r;
}
template <class Keys> KeyRange key_range(const Keys& keys) {
  return key_range(keys.data(), keys.size());
}

// The item's keys (load_keys) and their range (key_range); an item split over threads loads
// slabs of its first axis on them, each taking its slab's range while it is in cache. A NaN in
// the lowest slab is rethrown, so the first one in C order is reported.
template <class Keys>
KeyRange load_item_keys(const ItemView& item, bool negate, Keys& keys, int threads) {
  const int64_t n = item.size();
  const int parts = int(std::min<int64_t>(ranges_for(n, threads), item.shape[0]));
  if (parts <= 1) {
    load_keys(item, negate, keys);
    return key_range(keys);
  }
  keys.resize(size_t(n));
  const int64_t slab = n / item.shape[0];
  std::vector<KeyRange> ranges(static_cast<size_t>(parts));
  run_threads(parts, [&](int t) {
    const int64_t b = item.shape[0] * t / parts, e = item.shape[0] * (t + 1) / parts;
    ItemView part = item;
    part.base += b * item.strides[0];
    part.shape[0] = e - b;
    uint64_t* out = keys.data() + b * slab;
    try {
      load_keys(part, negate, out);
    } catch (const NanError& err) {
      throw NanError(b * slab + err.position);
    }
    ranges[size_t(t)] = key_range(out, size_t((e - b) * slab));
  });
  KeyRange all = ranges[0];
  for (const KeyRange& r : ranges) {
    all.lo = std::min(all.lo, r.lo);
    all.hi = std::max(all.hi, r.hi);
  }
  return all;
}

// Ranks from order-preserving keys (consumed). Peak memory is the sort's: keys, padded indices
// and their buffers, 24 bytes per generator, or 16 when the keys span < 2^32 values.
template <int D, class Keys>
Ranking rank_keys(Keys& keys, KeyRange range, const PaddedShape<D>& pad, int threads = 1) {
  Ranking r;
  r.order.resize(keys.size());
  pad.for_each([&](int64_t j, int64_t p) { r.order[size_t(j)] = uint32_t(p); });
  const uint64_t lo = range.lo, hi = range.hi;
  if (hi - lo <= 0xffffffffull) {  // no keys: range 0, the narrow path (an empty sort)
    UninitVector<uint32_t> narrow(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) narrow[i] = uint32_t(keys[i] - lo);
    keys = Keys();
    radix_sort(narrow, r.order, threads);
  } else {
    // Wider keys (sort_by_top_bits): the padded indices are sorted directly (they follow flat
    // order, so they break ties the same way), and a run's keys are found by unpadding: no
    // gather through a permutation afterwards (128^3: -10% of the ranking).
    UninitVector<uint32_t> top;
    sort_by_top_bits(
        r.order, keys, [&](uint32_t p) { return keys[size_t(pad.unpad(p))]; },
        [](uint32_t a, uint32_t b) { return a < b; }, lo, hi, top, threads);
    keys = Keys();
  }
  r.rank.resize(size_t(pad.size) + 1);  // + the outside node of union-find passes
  pad.fill_border(r.rank.data(), kBorderRank);
  parallel_ranges(int64_t(r.order.size()), threads, [&](int64_t b, int64_t e, int) {
    for (size_t i = size_t(b); i < size_t(e); ++i) r.rank[r.order[i]] = uint32_t(i);
  });
  return r;
}

// Without a sort: when the keys span fewer than 2^32 values (every dtype of at most 32 bits,
// and wider ones with a small range), (key - min) << 32 | flat index is itself a unique,
// order-preserving key. Border generators get ~0. Returns false if the range is too wide.
template <int D, class Keys>
bool pack_keys(const Keys& keys, KeyRange range, const PaddedShape<D>& pad,
               std::vector<uint64_t>& packed) {
  if (keys.empty() || keys.size() >= (size_t(1) << 32) - 1) return false;
  const uint64_t lo = range.lo;
  if (range.hi - lo > 0xffffffffull) return false;
  packed.assign(size_t(pad.size) + 1, ~uint64_t(0));  // + the outside node
  pad.for_each([&](int64_t j, int64_t p) {
    packed[size_t(p)] = ((keys[size_t(j)] - lo) << 32) | uint64_t(j);
  });
  return true;
}

// The same for algorithms that break ties by index themselves: padded values key - min, border
// generators and one extra slot after the grid ~0, above every value. Returns false if the keys
// span too many values for V (2^32 - 1 for 32 bits; only the full 64-bit range for 64 bits).
template <int D, class V, class Keys>
bool pack_values(const Keys& keys, KeyRange range, const PaddedShape<D>& pad,
                 std::vector<V>& out) {
  if (keys.empty()) return false;
  const uint64_t lo = range.lo;
  if (range.hi - lo >= uint64_t(V(~V(0)))) return false;
  out.assign(size_t(pad.size) + 1, ~V(0));
  pad.for_each([&](int64_t j, int64_t p) { out[size_t(p)] = V(keys[size_t(j)] - lo); });
  return true;
}

}  // namespace cuph
