// Middle dimensions 1 <= k <= D-2 by cohomology: coboundary columns of k-cells in decreasing
// order, Z/2 reduction of sorted columns, clearing (k-cells that killed a (k-1)-class are skipped) and
// apparent pairs (sigma's earliest coface tau has sigma as its latest facet), which are
// persistence pairs without any reduction.
//
// Apparent pairs are decided locally, and so is every pair of zero length (local_pairs), so
// they are found in a sweep in memory order (cache friendly) and never enter the reduction;
// only the columns of pairs of positive length, typically 0.2% of smooth data and 6% of noise,
// are reduced in filtration order. The sweep marks each apparent (k+1)-cell in a bitset (one
// bit per cell, by slot_id: in memory order); the reduction recovers the partner of a marked
// pivot as its latest facet instead of storing it. The other local pairs go to the pivot map.
//
// Rows of (k+1)-cells known to create a class are dropped (see reduce()): from the dual
// union-find for k = D-2, from the pairs of zero length of dimension k+1 below it.
#pragma once
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <vector>

#include "bitset.hpp"
#include "cancel.hpp"
#include "chunked_list.hpp"
#include "column_store.hpp"
#include "concurrent_pivot_map.hpp"
#include "diagram.hpp"
#include "grid.hpp"
#include "parallel.hpp"
#include "pivot_map.hpp"
#include "threads.hpp"
#include "working_column.hpp"

namespace cuph {

struct Entry {
  Key key;
  Cell cell;
};

// How many columns a reduction needs to run on several threads (fewer are reduced on one: a
// team's start costs more than they take). 2 threads, medians of 12 alternating calls:
// 64x56x56 smooth (992 columns) 13.4 -> 12.7 ms with the team, 24^3 noise 3.1 -> 2.2 ms, but
// 16^3 noise (~700) +5% and a smooth 32^3 +9% at a threshold of 256. A test switch lowers it.
inline std::atomic<size_t>& shared_reduction_columns() {
  static std::atomic<size_t> n{512};
  return n;
}

template <int D, Construction C> class CoboundaryReducer {
 public:
  CoboundaryReducer(const Grid<D, C>& g, int k, bool keep_diagonal)
      : g_(g), k_(k), keep_diagonal_(keep_diagonal) {
    // The star's k- and (k+1)-cells, each a bit of own_tests_ by increasing code.
    for (int dim = k; dim <= k + 1; ++dim)
      for (const auto& e : g.star[size_t(dim)]) {
        bit_[e.code] = uint8_t(own_tests_.size());
        code_at_bit_[own_tests_.size()] = e.code;
        own_tests_.add(g.required[e.code]);
      }
    k_bits_ = (uint64_t(1) << g.star[size_t(k)].size()) - 1;
    for (const auto& s : g.star[size_t(k)])
      for (const auto& t : g.star[size_t(k) + 1]) {
        int diff = 0, where = -1;
        for (int i = 0; i < D; ++i)
          if (s.off[i] != t.off[i]) { ++diff; where = i; }
        // t = s + (+-1 along one axis where s is a point).
        if (diff != 1 || std::abs(t.off[where] - s.off[where]) != 1) continue;
        coface_bits_[s.code] |= uint64_t(1) << bit_[t.code];
        facet_bits_[t.code] |= uint64_t(1) << bit_[s.code];
        latest_facet_[t.code] = std::max(latest_facet_[t.code], s.code);
      }
    for (const auto& s : g.star[size_t(k)]) init_cofaces(s);
    if constexpr (!V)
      for (const auto& t : g.star[size_t(k) + 1]) init_facets(t);
  }

  // The cells of recent coboundary entries, by key. A pivot is mostly one of them (a walk
  // along apparent pairs: each step's pivot is a coface of the step before), and then its
  // cell comes without the cache miss of order[] (ranks are in value order, not memory order).
  struct Known {
    Key key = ~Key(0);
    Cell cell = 0;
    size_t slot = 0;
  };
  // What one thread of the reduction works in: the column under reduction, a column being
  // read, the cells of a local pair's column (earlier_column) and the cells of recent keys.
  struct Worker {
    WorkingColumn<Key> work;
    std::vector<Key> raw;
    uint64_t sum = 0;
    std::array<Known, 256> known{};
  };

  // Every column of dimension k, in two steps. sweep(): pairs the columns of zero length and
  // returns how many are left to reduce; `cleared` marks k-cells to skip, `deaths` (may be
  // null) receives the (k+1)-cells that kill a class, for clearing in dimension k+1.
  size_t sweep(const Bitset& cleared, Bitset* deaths, PairList& out, int threads,
               CancelToken& cancel) {
    start_sweep();
    sweep_apparent(cleared, deaths, out, threads, cancel);
    return hard_.count();
  }

  // The pairs of zero length that are not apparent (see local_pairs), which wait through the
  // union-find's replays, at the memory peak of 3-D noise: a word for a column of one cell, its
  // pivot's key | the cell's code << kKeyBits; two for one of several, the key | kSeveral,
  // then the cells (12 rather than 16 bytes per pair, with the 16 of the pivot map's entries
  // still to come: 64x56x56 noise peaks at 35 bytes per voxel instead of 36).
  struct LocalPairs {
    ChunkedList<uint64_t, 10> words;
    size_t n = 0;
    void append(LocalPairs& from) {
      words.append(from.words);
      n += from.n;
      from.n = 0;
    }
  };
  static constexpr uint64_t kSeveral = uint64_t(1) << 63;
  struct Part {  // one range of generators' zero-length pairs (keep_diagonal) and local pairs
    PairList out;
    LocalPairs local;
  };

  // Or, for dimension 1, the same sweep inside the union-find's (union_find_passes' `sweep`):
  // start_fused(), then union_find_passes(..., this), then finish_fused() in place of sweep().
  // The edges that kill a class, which sweep() reads from `cleared`, are the zero-length joins
  // of each generator's primal program and the critical joins that merge, which the replay
  // takes back out of the columns to reduce. 3-D smooth: -10% time.
  void start_fused(Bitset* deaths) {
    CUPH_ASSERT(k_ == 1);
    start_sweep();
    fused_deaths_ = deaths;
    fused_out_.clear();
  }
  std::vector<int> needed() const { return g_.neighbours_for({k_, k_ + 1}); }
  template <class Mask>
  void visit(Part& part, int64_t p, Mask before, uint64_t zero_joins, bool shared) {
    // The primal pass's joins are the star's edges in code order, as the low bits of `own`.
    visit_generator(part, p, own_tests_.all_before(before), g_.star[size_t(k_)],
                    [zero_joins](int bit, int) { return (zero_joins >> bit) & 1; },
                    fused_deaths_, shared);
  }
  void append(Part& part) {
    fused_out_.insert(fused_out_.end(), part.out.begin(), part.out.end());
    locals_.append(part.local);
    part = Part();
  }
  void merged(int64_t owner, int code) {
    const size_t id = g_.rank_cell_id(g_.rank[owner], code);
    CUPH_ASSERT(hard_.test(id));  // a cell that kills is never apparent
    hard_.reset(id);
  }
  // The local pairs that are not apparent (see local_pairs), which reduce() enters first.
  size_t n_local() const { return locals_.n; }
  // The zero-length pairs (keep_diagonal) to `out`; returns the number of columns to reduce.
  size_t finish_fused(PairList& out) {
    out.insert(out.end(), fused_out_.begin(), fused_out_.end());
    fused_out_ = PairList();
    return hard_.count();
  }
  // reduce(): the rest. `positive` (may be null): (k+1)-cells, by slot_id, that are no column's
  // pivot (they create a class). Their rows are dropped: a row that is no pivot of a reduced
  // matrix R = DV can be deleted from D, and DV stays reduced with the same pivots, so the
  // pairs are the same. With `verify`, the rows are kept and every pivot is checked not to be
  // in `positive` instead (std::logic_error).
  // `threads` > 1: on several threads (reduce_shared) when there are many columns; the pairs
  // and their order are the same.
  void reduce(const Bitset* positive, bool verify, Bitset* deaths, PairList& out,
              CancelToken& cancel, int threads = 1) {
    positive_ = positive;
    drop_ = positive && !verify;
    if (positive_ && !drop_)
      apparent_.for_each_set_descending([&](size_t slot) {
        if (positive_->test(slot)) positive_pivot();
      });
    if (threads > 1 && hard_.count() >= shared_reduction_columns().load(std::memory_order_relaxed)) {
      reduce_shared(threads, deaths, out, cancel);
      return;
    }
    pivots_ = PivotMap(hard_.count() + locals_.n);  // at most one pivot per column
    for_each_local([&](Key tau, uint64_t v) { pivots_.set(tau, v); });
    locals_ = LocalPairs();
    // Descending ids are descending keys: the filtration order of cohomology, without a list
    // or a sort. Columns start anywhere in the item (ranks are in value order), so each one's
    // owner is loaded kAhead columns ahead and the ranks around it kAhead / 2 ahead. With the
    // prefetch in reduce_column: 128^3 noise -5% (median of 8), items that fit in cache
    // unchanged.
    constexpr size_t kAhead = 8;
    Key ahead[kAhead];
    size_t seen = 0;
    const auto column = [&](Key key) {
      cancel.poll();
      reduce_column(w_, {key, g_.locate(key)}, deaths, out, cancel);
    };
    hard_.for_each_set_descending([&](size_t id) {
      const Key key = g_.key_of_rank_cell_id(id, k_);
      g_.prefetch_owner(key);
      if (seen >= kAhead / 2) {
        const Key half = ahead[(seen - kAhead / 2) % kAhead];
        g_.prefetch_around(g_.order[half >> kCodeBits]);
      }
      if (seen >= kAhead) column(ahead[seen % kAhead]);
      ahead[seen % kAhead] = key;
      ++seen;
    });
    for (size_t i = seen > kAhead ? seen - kAhead : 0; i < seen; ++i) column(ahead[i % kAhead]);
    hard_ = Bitset();
  }

  // Marks (by slot_id) every k-cell of a pair of zero length (apparent or local_pairs'): each
  // creates a k-class, so the reduction of dimension k-1 may drop its row (4-D: the 2-cells,
  // before dimension 1).
  void mark_local_births(Bitset& births, int threads, CancelToken& cancel) const {
    const auto probe = g_.neighbour_probe(needed());
    using Mask = typename Grid<D, C>::Mask;
    struct None {};
    sweep_runs<None>(g_.pad, threads, cancel, [&](None&, int64_t p0, int n, bool shared) {
      Mask masks[kRun];
      g_.before_masks(g_.rank, p0, n, probe, masks);
      for (int i = 0; i < n; ++i) {
        const uint64_t own = own_tests_.all_before(masks[i]);
        uint64_t left = 0;
        for (uint64_t owned = own & k_bits_; owned; owned &= owned - 1) {
          const int bit = __builtin_ctzll(owned);
          const StarEntry<D>& e = g_.star[size_t(k_)][size_t(bit)];
          if (apparent_coface(own, e) >= 0) births.mark(g_.slot_id(p0 + i, e.code), shared);
          else left |= uint64_t(1) << bit;
        }
        if (left)
          local_reduction(own, left, [&](int code, int tau, uint64_t) {
            if (tau >= 0) births.mark(g_.slot_id(p0 + i, code), shared);
          });
      }
    });
  }

 private:
  // The local pairs' pivots and their pivot-map values (see LocalPairs).
  template <class F> void for_each_local(F&& f) const {
    for (size_t i = 0; i < locals_.words.size(); ++i) {
      const uint64_t w = locals_.words[i];
      const Key tau = w & kKeyMask;
      if (positive_ && !drop_ && is_positive(tau)) positive_pivot();
      f(tau, w & kSeveral ? kEmergent | kLocal | locals_.words[++i]
                          : kEmergent | (tau & ~kCodeMask) | (w >> PivotMap::kKeyBits));
    }
  }
  void start_sweep() {
    apparent_ = Bitset(g_.n_slot_ids(k_ + 1));
    hard_ = Bitset(g_.n_rank_cell_ids(k_));
    locals_ = LocalPairs();
  }
  // Pairs every apparent column and marks the others in hard_. Ranges of generators run on
  // `threads` threads; each writes its own list of zero-length pairs, concatenated in order.
  void sweep_apparent(const Bitset& cleared, Bitset* deaths, PairList& out, int threads,
                      CancelToken& cancel) {
    const auto probe = g_.neighbour_probe(needed());
    const auto& cells = g_.star[size_t(k_)];
    using Mask = typename Grid<D, C>::Mask;
    auto parts = sweep_runs<Part>(g_.pad, threads, cancel, [&](Part& part, int64_t p0, int n,
                                                               bool shared) {
      Mask masks[kRun];
      g_.before_masks(g_.rank, p0, n, probe, masks);
      for (int i = 0; i < n; ++i) {
        const int64_t p = p0 + i;
        visit_generator(part, p, own_tests_.all_before(masks[i]), cells,
                        [&](int, int code) { return cleared.test(g_.cell_id(p, code)); },
                        deaths, shared);
      }
    });
    for (Part& part : parts) {
      out.insert(out.end(), part.out.begin(), part.out.end());
      locals_.append(part.local);
      part = Part();
    }
  }
  // The code of the coface a g-owned k-cell e forms an apparent pair with, or -1. The earliest
  // coface, if g owns one, is g's coface of smallest code (any coface owned elsewhere has a
  // larger rank), and its latest facet is its g-owned facet of largest code (the others have
  // smaller ranks): both are read off `own`, the cells of the star g owns (own_tests_), whose
  // bits are in code order (a set's lowest bit is its smallest code, its highest the largest).
  // For T, every coface of sigma inside g's top cell is owned by g.
  int apparent_coface(uint64_t own, const StarEntry<D>& e) const {
    const uint64_t cofaces = coface_bits_[e.code];
    if (cofaces == 0) return -1;
    if constexpr (Grid<D, C>::V) {
      const uint64_t owned = own & cofaces;
      if (owned == 0) return -1;  // every coface has a later vertex, which owns a later facet
      const uint8_t tau = code_at_bit_[__builtin_ctzll(owned)];
      return latest_facet_[tau] == e.code ? tau : -1;
    } else {
      const uint8_t tau = code_at_bit_[__builtin_ctzll(cofaces)];  // g owns it
      const uint64_t facets = own & facet_bits_[tau];  // e among them
      return code_at_bit_[63 - __builtin_clzll(facets)] == e.code ? tau : -1;
    }
  }
  // The k-cells generator p owns: cleared (`cleared(bit, code)`: it killed a (k-1)-class),
  // apparent (paired here), in another pair of zero length (local_pairs) or left to the
  // reduction (marked in hard_).
  template <class Cleared>
  void visit_generator(Part& part, int64_t p, uint64_t own, const std::vector<StarEntry<D>>& cells,
                       Cleared cleared, Bitset* deaths, bool shared) {
    const uint32_t r = g_.rank[p];
    uint64_t left = 0;  // neither cleared nor apparent
    // The k-cells are the low bits of `own`, in the order of `cells`: only the owned ones are
    // visited (4-D T: about 4 of the star's 32 edges).
    for (uint64_t owned = own & k_bits_; owned; owned &= owned - 1) {
      const int bit = __builtin_ctzll(owned);
      const StarEntry<D>& e = cells[size_t(bit)];
      // A cleared cell is never in an apparent pair, which pairs a cell that creates a
      // k-class, so only the others are tested.
      const int tau = apparent_coface(own, e);
      if (tau < 0) {
        if (!cleared(bit, e.code)) left |= uint64_t(1) << bit;
        continue;
      }
      CUPH_ASSERT(!cleared(bit, e.code));
      if (keep_diagonal_) part.out.push_back({r, r});  // same generator: zero length
      apparent_.mark(g_.slot_id(p, tau), shared);
      if (deaths) deaths->mark(g_.cell_id(p, tau), shared);
    }
    if (left) local_pairs(part, p, own, left, deaths, shared);  // 3-D smooth: 3% of generators
  }
  // The pairs of zero length are exactly the pivots of the reduction of the coboundary matrix
  // restricted to the cells of one generator p (which follow one another in the filtration:
  // same rank, by code). While a column's pivot is one of p's cells, only columns of p's cells
  // can share it (a later k-cell's cofaces are all later than p's cells), so the reduction of
  // p's columns starts as this local one, and a local pivot is a pivot of the whole. Apparent
  // pairs are the local pairs without additions whose coface has the column as its latest
  // facet. Of the others, those among `left` go to the pivot map with their column, the raw
  // coboundary of one of p's cells (kEmergent | its key) or of several (kEmergent | kLocal |
  // their bits), instead of to the reduction (3-D smooth: 6 of its 7 columns; noise: 2 of 5).
  void local_pairs(Part& part, int64_t p, uint64_t own, uint64_t left, Bitset* deaths,
                   bool shared) {
    const uint32_t r = g_.rank[p];
    const Key at = Key(r) << kCodeBits;
    local_reduction(own, left, [&](int code, int tau, uint64_t cells) {
      if (tau < 0) {
        hard_.mark(g_.rank_cell_id(r, code), shared);
        return;
      }
      if (keep_diagonal_) part.out.push_back({r, r});
      if (deaths) deaths->mark(g_.cell_id(p, tau), shared);
      ++part.local.n;
      if (cells & (cells - 1)) {
        part.local.words.push_back(at | Key(tau) | kSeveral);
        part.local.words.push_back(cells);
      } else {
        part.local.words.push_back(at | Key(tau) | uint64_t(code) << PivotMap::kKeyBits);
      }
    });
  }
  // The reduction of the coboundary matrix restricted to the cells of `own`: f(code, tau, cells)
  // for each k-cell among `left`, with the code of its pivot (-1: none) and the cells whose
  // coboundaries its reduced column sums (bits of own_tests_).
  template <class F> void local_reduction(uint64_t own, uint64_t left, F&& f) const {
    uint64_t taken = 0;  // local pivots, as bits of own_tests_
    uint64_t reduced[64], sum[64];  // by pivot: the reduced column and the cells it sums
    for (uint64_t owned = own & k_bits_; owned;) {  // by decreasing code
      const int bit = 63 - __builtin_clzll(owned);
      const uint64_t cell = uint64_t(1) << bit;
      owned ^= cell;
      const int code = g_.star[size_t(k_)][size_t(bit)].code;
      uint64_t col = own & coface_bits_[size_t(code)], cells = cell;
      int t = 0;
      for (; col; col ^= reduced[t], cells ^= sum[t]) {
        t = __builtin_ctzll(col);
        if (!((taken >> t) & 1)) break;
      }
      if (col) {
        taken |= uint64_t(1) << t;
        reduced[t] = col;
        sum[t] = cells;
      }
      if (left & cell) f(code, col ? int(code_at_bit_[t]) : -1, cells);
    }
  }

  // The column whose pivot is tau among those reduced so far: an apparent one (marked by the
  // sweep; its column is the raw coboundary of tau's latest facet), or from the map a stored
  // one (`stored`: its address), an emergent one (stored = kRaw: the raw coboundary of sigma)
  // or a local one (stored = kSum: the raw coboundaries of the cells in w.sum at owner sigma).
  // `map`: find(tau, value) and prefetch(tau) of the pivots reduced so far (Pivots, or
  // SharedPivots on several threads).
  static constexpr uint64_t kRaw = ~uint64_t(0), kSum = kRaw - 1;
  static constexpr uint64_t kEmergent = uint64_t(1) << (PivotMap::kValueBits - 1);
  static constexpr uint64_t kLocal = kEmergent >> 1;  // below it: k-cells as bits of own_tests_
  template <class Map> bool earlier_column(Worker& w, Key tau, Cell& sigma, uint64_t& stored,
                                           Map&& map) {
    map.prefetch(tau);
    const Known& known = w.known[known_at(tau)];
    Cell cell;
    size_t slot;
    if (known.key == tau) {
      cell = known.cell;
      slot = known.slot;
    } else {
      cell = g_.locate(tau, &slot);
    }
    if (apparent_.test(slot)) {
      // tau's partner: the facet of largest code its owner g owns (the sweep's choice). For V
      // every facet through g is g's; for T, g owns a facet if the top cells it adds to tau's
      // come after g.
      stored = kRaw;
      const size_t code = size_t(cell & kCodeMask);
      const Cell at = cell & ~kCodeMask;
      if constexpr (V) {
        sigma = at | latest_facet_[code];
      } else {
        const int64_t p = int64_t(cell >> kCodeBits);
        const uint32_t r = g_.rank[p];
        const Adjacents& facets = facets_by_code_[code];
        int j = 0;
        for (;; ++j) {
          CUPH_ASSERT(j < facets.n);  // the sweep paired tau with one of g's facets
          const Adjacent& f = facets.a[size_t(j)];
          bool owned = true;
          for (int v = 0; v < f.n; ++v) owned &= g_.rank[p + f.step[size_t(v)]] > r;
          if (owned) break;
        }
        sigma = at | Cell(facets.a[size_t(j)].code);
      }
      return true;
    }
    uint64_t v;
    if (!map.find(tau, v)) return false;
    stored = v;
    if (v & kLocal) {
      sigma = cell & ~kCodeMask;  // tau's owner
      w.sum = v & (kLocal - 1);
      stored = kSum;
    } else if (v & kEmergent) {
      sigma = g_.locate(Key(v & ~kEmergent));
      stored = kRaw;
    }
    return true;
  }
  struct Pivots {  // the map of one thread's reduction
    const PivotMap& map;
    void prefetch(Key tau) const { map.prefetch(tau); }
    bool find(Key tau, uint64_t& v) const { return map.find(tau, v); }
  };
  // The coboundary of a located cell into w.raw, sorted by key, without the dropped rows. A
  // coface's key is the latest (V) or earliest (T) of its generators' keys. Those of c's
  // generators that can win are c's owner p alone (V: c's other vertices come before p; T: c's
  // other top cells after p), so only the generators a coface adds are read, and for T none
  // when the coface contains p. A coface whose generators are all on the border does not exist.
  void coboundary(Worker& w, Cell c) {
    std::vector<Key>& col = w.raw;
    col.clear();
    const int64_t p = int64_t(c >> kCodeBits);
    const Adjacents& cofaces = cofaces_by_code_[size_t(c & kCodeMask)];
    const uint32_t r = g_.rank[p];
    for (int j = 0; j < cofaces.n; ++j) {
      const Adjacent& f = cofaces.a[size_t(j)];
      const bool has_p = f.code != kNoCode;
      uint32_t best = has_p ? r : kBorderRank;
      int64_t owner = p;
      int code = f.code;
      for (int v = 0; v < f.n; ++v) {
        const int64_t q = p + f.step[size_t(v)];
        const uint32_t rk = g_.rank[q];
        if (V ? rk > best : rk < best) { best = rk; owner = q; code = f.code_from[size_t(v)]; }
      }
      if (best == kBorderRank) continue;
      const Key key = (Key(best) << kCodeBits) | Key(code);
      const size_t slot = g_.slot_id(owner, code);
      if (drop_ && positive_->test(slot)) continue;
      col.push_back(key);
      w.known[known_at(key)] = {key, (Cell(owner) << kCodeBits) | Cell(code), slot};
    }
    // At most 2D entries: an insertion sort, without std::sort's dispatch.
    for (size_t i = 1; i < col.size(); ++i) {
      const Key x = col[i];
      size_t j = i;
      for (; j > 0 && col[j - 1] > x; --j) col[j] = col[j - 1];
      col[j] = x;
    }
  }
  // Adds to w.work the column earlier_column found for `pivot`, but not the pivot, which the
  // working column no longer holds. False, adding nothing, if that column's pivot is no longer
  // `pivot` (on several threads: its owner was displaced and has moved on).
  bool add_column(Worker& w, Key pivot, Cell other, uint64_t stored) {
    if (stored == kRaw) {
      coboundary(w, other);
      if (w.raw.empty() || w.raw[0] != pivot) return false;
      w.work.add(w.raw.data() + 1, w.raw.size() - 1);
    } else if (stored == kSum) {  // a local pair's column: the raw coboundaries of its cells
      for (uint64_t cells = w.sum; cells; cells &= cells - 1) {
        coboundary(w, other | Cell(code_at_bit_[__builtin_ctzll(cells)]));
        w.work.add(w.raw.data(), w.raw.size());
      }
      w.work.add(&pivot, 1);  // the pivot, in an odd number of them, leaves
    } else {
      w.raw.clear();
      if (stores_[size_t(stored >> kThreadShift)].tail(stored & kAddressMask, w.raw) != pivot)
        return false;
      w.work.add(w.raw.data(), w.raw.size());
    }
    return true;
  }
  // Stores the working column, `pivot` first (it is also left in w.raw), in thread t's store;
  // returns its address (add_column's `stored`).
  uint64_t store_column(Worker& w, Key pivot, int t) {
    w.raw.assign(1, pivot);
    w.work.drain(w.raw);
    return uint64_t(t) << kThreadShift | stores_[size_t(t)].append(w.raw.data(), w.raw.size());
  }
  // Pops the next pivot into `pivot` (false: the column is zero) and starts loading what
  // earlier_column will read about the likely ones after it.
  template <class Map> bool next_pivot(Worker& w, Key& pivot, const Map& map) {
    if (!w.work.pop_pivot(pivot)) return false;
    w.work.for_each_next([&](Key next) {
      map.prefetch(next);
      g_.prefetch_owner(next);
    });
    return true;
  }

  // A column that is not apparent: an emergent pair if its earliest coface is still free,
  // otherwise a full reduction. Every column added starts with the current pivot. Reduced
  // columns are stored (pivot first, ascending) for later columns to add: they are kept
  // reduced, so every entry of an added column is needed.
  void reduce_column(Worker& w, Entry sigma, Bitset* deaths, PairList& out,
                     CancelToken& cancel) {
    const uint32_t birth = uint32_t(sigma.key >> kCodeBits);
    const Pivots map{pivots_};
    coboundary(w, sigma.cell);
    if (w.raw.empty()) {  // no cofaces at all: an essential class
      out.push_back({birth, kEssential});
      return;
    }
    Key pivot = w.raw[0];
    Cell other = 0;
    uint64_t stored;
    if (!earlier_column(w, pivot, other, stored, map)) {
      pivots_.set(pivot, kEmergent | sigma.key);
      record(birth, pivot, deaths, out);
      return;
    }
    w.work.assign(w.raw.data() + 1, w.raw.size() - 1);
    do {
      cancel.poll();
      const bool added = add_column(w, pivot, other, stored);
      CUPH_ASSERT(added);  // one thread: a column found is the pivot's
      (void)added;
      if (!next_pivot(w, pivot, map)) {
        out.push_back({birth, kEssential});
        return;
      }
    } while (earlier_column(w, pivot, other, stored, map));
    pivots_.set(pivot, store_column(w, pivot, 0));
    record(birth, pivot, deaths, out);
  }

  // reduce() on several threads, for items with many columns, without locks (the scheme of
  // Morozov and Nigmetov, "Towards lockfree persistent homology", SPAA 2020). Threads take the
  // columns in filtration order from a counter. A column c is reduced by adding the columns that
  // own its pivot and come before it; one that ends with a pivot no column owns claims it in a
  // shared map by compare-and-swap, after publishing its content (`published`: its address, or
  // kRaw for its raw coboundary); one whose pivot a later column v owns takes it from v, and
  // the thread goes on to reduce v. Adding any combination of earlier columns keeps a column's
  // final pivot (that of the reduction in order), so the pairs do not depend on the timing;
  // they are recorded in column order at the end, exactly as reduce() on one thread records
  // them. A column's pivot only rises while it is reduced, so a published column whose pivot
  // is no longer the one it was found by has moved on: add_column refuses it, and the map is
  // read again.
  void reduce_shared(int threads, Bitset* deaths, PairList& out, CancelToken& cancel) {
    std::vector<Key> cols;
    cols.reserve(hard_.count());
    hard_.for_each_set_descending(
        [&](size_t id) { cols.push_back(g_.key_of_rank_cell_id(id, k_)); });
    hard_ = Bitset();
    const size_t n = cols.size();
    ConcurrentPivotMap map(n + locals_.n);
    for_each_local([&](Key tau, uint64_t v) { map.exchange_if(tau, ConcurrentPivotMap::kNone, v); });
    locals_ = LocalPairs();
    std::unique_ptr<std::atomic<uint64_t>[]> published(new std::atomic<uint64_t>[n]);
    for (size_t i = 0; i < n; ++i) published[i].store(kRaw, std::memory_order_relaxed);
    // Each column's last pivot (kNoPivot: it reduced to zero), written by the thread that
    // reduces it before its claim (so a thread that takes the column over writes after it).
    std::vector<Key> low(n, kNoPivot);
    threads = std::min(threads, kMaxThreads);
    stores_.resize(size_t(threads));
    for (ColumnStore& s : stores_) s.share();
    std::vector<Worker> workers(static_cast<size_t>(threads));
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};  // then the others stop too
    run_threads(threads, [&](int t) {
      try {
        CancelToken tc = cancel.fork();
        Worker& w = workers[size_t(t)];
        for (size_t j; !failed.load(std::memory_order_relaxed) &&
                       (j = next.fetch_add(1, std::memory_order_relaxed)) < n;) {
          for (size_t c = j; c != kNoColumn;)
            c = reduce_shared_column(w, t, c, cols, published.get(), low, map, tc);
        }
      } catch (...) {
        failed.store(true, std::memory_order_relaxed);
        throw;
      }
    });
    for (size_t c = 0; c < n; ++c) {
      const uint32_t birth = uint32_t(cols[c] >> kCodeBits);
      if (low[c] == kNoPivot) {
        out.push_back({birth, kEssential});
      } else {
        CUPH_ASSERT(map.find(low[c]) == c);
        record(birth, low[c], deaths, out);
      }
    }
  }
  // The pivots of reduce_shared, seen from column c: those of local pairs and of earlier
  // columns are found (an earlier column as its published content); `owner` receives the
  // column that owns tau, if any, and a later one is reported as not found.
  struct SharedPivots {
    const ConcurrentPivotMap& map;
    const std::atomic<uint64_t>* published;
    const Key* cols;
    size_t c;
    uint64_t* owner;
    void prefetch(Key tau) const { map.prefetch(tau); }
    bool find(Key tau, uint64_t& v) const {
      const uint64_t x = map.find(tau);
      *owner = kNoColumn;
      if (x == ConcurrentPivotMap::kNone) return false;
      if (x & kEmergent) {  // a local pair's column
        v = x;
        return true;
      }
      *owner = x;
      CUPH_ASSERT(x != c);  // a column under reduction owns no pivot
      if (x > c) return false;
      const uint64_t a = published[x].load(std::memory_order_acquire);
      v = a == kRaw ? kEmergent | cols[x] : a;
      return true;
    }
  };
  // Reduces column c on thread t until it is zero or owns its pivot; returns the later column
  // it took the pivot from, which this thread reduces next, or kNoColumn.
  size_t reduce_shared_column(Worker& w, int t, size_t c, const std::vector<Key>& cols,
                              std::atomic<uint64_t>* published, std::vector<Key>& low,
                              ConcurrentPivotMap& map, CancelToken& cancel) {
    Key pivot;
    const uint64_t start = published[c].load(std::memory_order_acquire);
    if (start == kRaw) {
      coboundary(w, g_.locate(cols[c]));
      if (w.raw.empty()) {
        low[c] = kNoPivot;
        return kNoColumn;
      }
      pivot = w.raw[0];
      w.work.assign(w.raw.data() + 1, w.raw.size() - 1);
    } else {  // a column taken over: its published content
      w.raw.clear();
      pivot = stores_[size_t(start >> kThreadShift)].tail(start & kAddressMask, w.raw);
      w.work.assign(w.raw.data(), w.raw.size());
    }
    uint64_t owner = kNoColumn;
    const SharedPivots pivots{map, published, cols.data(), c, &owner};
    bool changed = false;  // since `start`
    for (;;) {
      cancel.poll();
      Cell other = 0;
      uint64_t stored;
      if (earlier_column(w, pivot, other, stored, pivots)) {
        if (!add_column(w, pivot, other, stored)) continue;  // its owner moved on: look again
        changed = true;
        if (!next_pivot(w, pivot, pivots)) {
          low[c] = kNoPivot;
          return kNoColumn;
        }
        continue;
      }
      // Unowned, or owned by a later column: publish c, then claim the pivot.
      const uint64_t expected = owner == kNoColumn ? ConcurrentPivotMap::kNone : owner;
      const bool publish = changed;
      if (publish) {
        published[c].store(store_column(w, pivot, t), std::memory_order_release);
        changed = false;
      }
      low[c] = pivot;
      if (map.exchange_if(pivot, expected, c) == expected) return owner;
      // The owner changed meanwhile: look again, with the column just published.
      if (publish) w.work.assign(w.raw.data() + 1, w.raw.size() - 1);
    }
  }

  // A pair of one generator has length zero: dropped here (index_pairs would) unless wanted.
  void record(uint32_t birth, Key tau, Bitset* deaths, PairList& out) {
    const uint32_t death = uint32_t(tau >> kCodeBits);
    if (keep_diagonal_ || birth != death) out.push_back({birth, death});
    if (deaths) deaths->set(g_.cell_id(tau));
    if (positive_ && !drop_ && is_positive(tau)) positive_pivot();
  }
  bool is_positive(Key tau) const {
    size_t slot;
    g_.locate(tau, &slot);
    return positive_->test(slot);
  }
  [[noreturn]] static void positive_pivot() {
    throw std::logic_error("cuph: a row dropped as a birth is a pivot");
  }

  // A coface or facet of a cell at a given code from its owner g: its code from g (kNoCode: g
  // is not one of its generators) and the generators to read, as steps from g with its code
  // from each.
  static constexpr uint8_t kNoCode = 0xff;
  static constexpr int kMaxRead = D >= 2 ? 1 << (D - 2) : 1;
  struct Adjacent {
    uint8_t code = kNoCode, n = 0;
    std::array<uint8_t, kMaxRead> code_from{};
    std::array<int64_t, kMaxRead> step{};
  };
  struct Adjacents {
    int n = 0;
    std::array<Adjacent, 2 * D> a{};
  };
  // The generators of the cell at offset `off` from a generator g are g + o, o_a in {0, off_a}
  // (V: its vertices; T: its top cells), and its offset from g + o is from(off, o).
  static void from(const int* off, const int* o, int* out) {
    for (int a = 0; a < D; ++a) out[a] = off[a] == 0 ? 0 : (o[a] == 0 ? off[a] : -off[a]);
  }
  // Adds to `adj` the generators g + base + o (o over the cell's generators, those with
  // o_i == side where i >= 0) of the cell at offset `off` from g + base.
  void add_generators(Adjacent& adj, const int* base, const int* off, int i, int side) const {
    for (unsigned sub = 0; sub < (1u << D); ++sub) {
      int o[D], rel[D];
      bool ok = true;
      for (int a = 0; a < D; ++a) {
        ok &= !(sub >> a & 1) || off[a] != 0;
        o[a] = sub >> a & 1 ? off[a] : 0;
      }
      if (!ok || (i >= 0 && o[i] != side)) continue;
      from(off, o, rel);
      int64_t step = 0;
      for (int a = 0; a < D; ++a) step += (base[a] + o[a]) * g_.pad.stride[size_t(a)];
      adj.step[size_t(adj.n)] = step;
      adj.code_from[size_t(adj.n++)] = uint8_t(code_of(rel));
    }
  }
  // The cofaces of the k-cell at offset s from its owner g.
  void init_cofaces(const StarEntry<D>& s) {
    Adjacents& out = cofaces_by_code_[s.code];
    const int zero[D] = {};
    for (int i = 0; i < D; ++i) {
      int off[D];
      for (int a = 0; a < D; ++a) off[a] = s.off[a];
      if (V) {  // V: s is a point along i; a coface opens an interval on each side, through g
        if (off[i] != 0) continue;
        for (int side = -1; side <= 1; side += 2) {
          Adjacent& f = out.a[size_t(out.n++)];
          off[i] = side;
          f.code = uint8_t(code_of(off));
          add_generators(f, zero, off, i, side);  // the vertices it adds
        }
      } else {  // T: s is a point along i, between g and g + off_i e_i; a coface inside each
        if (off[i] == 0) continue;
        int base[D] = {};
        base[i] = off[i];
        off[i] = 0;
        Adjacent& in_g = out.a[size_t(out.n++)];
        in_g.code = uint8_t(code_of(off));  // g is its earliest top cell
        Adjacent& beside = out.a[size_t(out.n++)];
        beside.code = kNoCode;
        add_generators(beside, base, off, -1, 0);
      }
    }
  }
  // T: the facets of the (k+1)-cell at offset t from its owner g, by decreasing code, each
  // with the top cells it adds.
  void init_facets(const StarEntry<D>& t) {
    Adjacents& out = facets_by_code_[t.code];
    const int zero[D] = {};
    for (int i = 0; i < D; ++i) {
      if (t.off[i] != 0) continue;
      for (int side = -1; side <= 1; side += 2) {
        int off[D];
        for (int a = 0; a < D; ++a) off[a] = t.off[a];
        off[i] = side;
        Adjacent& f = out.a[size_t(out.n++)];
        f.code = uint8_t(code_of(off));
        add_generators(f, zero, off, i, side);
      }
    }
    std::sort(out.a.begin(), out.a.begin() + out.n,
              [](const Adjacent& x, const Adjacent& y) { return x.code > y.code; });
  }
  static int code_of(const int* off) {
    int code = 0;
    for (int a = D - 1; a >= 0; --a) code = 3 * code + off[a] + 1;
    return code;
  }

  static constexpr bool V = Grid<D, C>::V;
  static constexpr Key kCodeMask = (Key(1) << kCodeBits) - 1;
  static constexpr Key kKeyMask = (Key(1) << PivotMap::kKeyBits) - 1;
  const Grid<D, C>& g_;
  int k_;
  bool keep_diagonal_;
  const Bitset* positive_ = nullptr;
  bool drop_ = false;
  // Inside one generator's star: the cofaces of each k-cell and the facets of each (k+1)-cell,
  // as bits of own_tests_; for V, the largest facet code of each (k+1)-cell.
  MaskTests<typename Grid<D, C>::Mask> own_tests_;  // which of the star's k-, (k+1)-cells g owns
  std::array<uint8_t, 81> bit_{};          // a code's bit in own_tests_
  uint64_t k_bits_ = 0;                    // the k-cells' bits (the low ones)
  std::array<uint8_t, 64> code_at_bit_{};  // and back
  std::array<uint64_t, 81> coface_bits_{}, facet_bits_{};  // inside the star, as bits
  std::array<uint8_t, 81> latest_facet_{};
  std::array<Adjacents, 81> cofaces_by_code_{}, facets_by_code_{};
  // Columns hold keys only: a key names its cell (Grid::locate), needed just for pivots.
  Worker w_;  // reduce() on one thread
  LocalPairs locals_;  // the sweep's
  // Non-apparent pivots: the stored column's address, kEmergent | the key of sigma for a
  // column that was never added to (its raw coboundary), or kEmergent | kLocal | the cells of
  // a local pair's column.
  PivotMap pivots_;
  // (k+1)-cells paired by the sweep with their latest facet, by slot_id: beside the ranks of
  // their cells in memory, where a walk along apparent pairs reads.
  Bitset apparent_;
  // k-cells left to the reduction (neither cleared nor of zero length), by rank_cell_id
  Bitset hard_;
  static size_t known_at(Key k) { return size_t((k * 0x9E3779B97F4A7C15ull) >> 56); }
  // The reduced columns, one store per thread of the reduction. A column's address is its
  // store's number << kThreadShift | its address there (below the map's kLocal bit).
  std::vector<ColumnStore> stores_ = std::vector<ColumnStore>(1);
  static constexpr int kThreadShift = 44;
  static constexpr uint64_t kAddressMask = (uint64_t(1) << kThreadShift) - 1;
  static constexpr int kMaxThreads = 1 << 11;
  static_assert((uint64_t(kMaxThreads) << kThreadShift) <= kLocal, "thread bits below kLocal");
  static constexpr size_t kNoColumn = ~size_t(0);
  static constexpr Key kNoPivot = ~Key(0);
  // The fused sweep (start_fused): its deaths bitset and zero-length pairs.
  Bitset* fused_deaths_ = nullptr;
  PairList fused_out_;
};

}  // namespace cuph
