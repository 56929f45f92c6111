// Middle dimensions 1 <= k <= D-2 by cohomology: coboundary columns of k-cells in decreasing
// order, Z/2 reduction with a heap, clearing (k-cells that killed a (k-1)-class are skipped) and
// apparent pairs (sigma's earliest coface tau has sigma as its latest facet), which are
// persistence pairs without any reduction; in smooth data nearly every column is one.
#pragma once
#include <cstdint>
#include <queue>
#include <unordered_map>
#include <vector>

#include "bitset.hpp"
#include "cancel.hpp"
#include "diagram.hpp"
#include "grid.hpp"

namespace cuph {

struct Entry {
  Key key;
  Cell cell;
  bool operator>(const Entry& o) const { return key > o.key; }
};

template <int D, Construction C> class CoboundaryReducer {
 public:
  CoboundaryReducer(const Grid<D, C>& g, int k) : g_(g), k_(k) {}

  // Reduces every column of dimension k; `cleared` marks k-cells to skip, `deaths` (may be null)
  // receives the (k+1)-cells that kill a class, for clearing in dimension k+1.
  void run(const Bitset& cleared, Bitset* deaths, std::vector<RawPair>& out, CancelToken& cancel) {
    const auto nbs = g_.neighbours_for({k_});
    for (int64_t r = g_.n_gen - 1; r >= 0; --r) {
      cancel.poll();
      const int64_t gi = g_.order[r];
      const Cell gc = g_.gen_cell(gi);
      const auto before = g_.before_mask(gi, gc, uint64_t(r), nbs);
      const auto& cells = g_.star[k_];
      for (auto e = cells.rbegin(); e != cells.rend(); ++e) {
        if (!g_.owns(before, *e)) continue;
        const Cell c = gc + e->delta;
        if (cleared.test(size_t(g_.cell_index(c)))) continue;
        reduce_column({(Key(r) << kCodeBits) | e->code, c}, deaths, out, cancel);
      }
    }
  }

 private:
  using Heap = std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>>;

  // The earliest coface of a k-cell; returns false if it has none.
  bool min_coface(Cell c, Entry& best) const {
    bool found = false;
    g_.for_each_coface(c, [&](Cell f) {
      const Key k = g_.key(f);
      if (!found || k < best.key) { best = {k, f}; found = true; }
    });
    return found;
  }
  Key max_facet_key(Cell c) const {
    Key best = 0;
    g_.for_each_facet(c, [&](Cell f) { best = std::max(best, g_.key(f)); });
    return best;
  }
  // The column whose pivot is tau among those reduced so far: a stored one, or an apparent one.
  // Any facet sigma' of tau already processed has a larger key than the current column, so the
  // apparent partner found here is always an earlier column.
  bool earlier_column(const Entry& tau, Key current, Cell& sigma, int64_t& stored) const {
    auto it = pivots_.find(tau.key);
    if (it != pivots_.end()) {
      sigma = it->second.sigma;
      stored = it->second.stored;
      return true;
    }
    Key best = 0;
    Cell best_cell = 0;
    g_.for_each_facet(tau.cell, [&](Cell f) {
      const Key k = g_.key(f);
      if (k > best) { best = k; best_cell = f; }
    });
    if (best == current) return false;
    Entry m;
    if (min_coface(best_cell, m) && m.key == tau.key) {
      sigma = best_cell;
      stored = -1;
      return true;
    }
    return false;
  }
  void push_coboundary(Cell c) {
    g_.for_each_coface(c, [&](Cell f) { heap_.push({g_.key(f), f}); });
  }
  // Pops the smallest entry that survives Z/2 cancellation.
  bool pop_pivot(Entry& p) {
    while (!heap_.empty()) {
      p = heap_.top();
      heap_.pop();
      if (!heap_.empty() && heap_.top().key == p.key) {
        heap_.pop();
        continue;
      }
      return true;
    }
    return false;
  }

  void reduce_column(Entry sigma, Bitset* deaths, std::vector<RawPair>& out, CancelToken& cancel) {
    const uint32_t birth = uint32_t(sigma.key >> kCodeBits);
    Entry tau;
    if (!min_coface(sigma.cell, tau)) {  // no cofaces at all: an essential class
      out.push_back({birth, kEssential});
      return;
    }
    Cell other;
    int64_t stored;
    if (max_facet_key(tau.cell) == sigma.key || !earlier_column(tau, sigma.key, other, stored)) {
      // Apparent or emergent pair: the unreduced coboundary is already reduced.
      if (max_facet_key(tau.cell) != sigma.key) pivots_[tau.key] = {sigma.cell, -1};
      record(birth, tau, deaths, out);
      return;
    }
    heap_ = Heap();
    push_coboundary(sigma.cell);
    while (true) {
      cancel.poll();
      if (!pop_pivot(tau)) {
        out.push_back({birth, kEssential});
        return;
      }
      if (!earlier_column(tau, sigma.key, other, stored)) break;
      heap_.push(tau);  // keep the column whole; the added column cancels tau
      if (stored < 0) {
        push_coboundary(other);
      } else {
        for (int64_t i = offsets_[size_t(stored)]; i < offsets_[size_t(stored) + 1]; ++i)
          heap_.push(pool_[size_t(i)]);
      }
    }
    // Store the reduced column (pivot first) so later columns can add it.
    const int64_t id = int64_t(offsets_.size()) - 1;
    pool_.push_back(tau);
    Entry e;
    while (pop_pivot(e)) pool_.push_back(e);
    offsets_.push_back(int64_t(pool_.size()));
    pivots_[tau.key] = {sigma.cell, id};
    record(birth, tau, deaths, out);
  }

  void record(uint32_t birth, const Entry& tau, Bitset* deaths, std::vector<RawPair>& out) {
    out.push_back({birth, uint32_t(tau.key >> kCodeBits)});
    if (deaths) deaths->set(size_t(g_.cell_index(tau.cell)));
  }

  struct Column {
    Cell sigma;
    int64_t stored;  // index of the stored reduced column, -1: the raw coboundary of sigma
  };
  const Grid<D, C>& g_;
  int k_;
  Heap heap_;
  std::unordered_map<Key, Column> pivots_;  // non-apparent pivots only
  std::vector<Entry> pool_;
  std::vector<int64_t> offsets_{0};
};

}  // namespace cuph
