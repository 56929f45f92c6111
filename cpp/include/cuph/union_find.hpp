// Union-find with the elder rule, for dimension 0 (0-cells joined by edges in increasing order)
// and, by Alexander duality, for the top dimension D-1 (top cells joined by (D-1)-cells in
// decreasing order, with the outside of the box as one extra, oldest node).
#pragma once
#include <cstdint>
#include <vector>

#include "bitset.hpp"
#include "cancel.hpp"
#include "diagram.hpp"
#include "grid.hpp"

namespace cuph {

// Roots are the oldest element of their component, so a root's age is looked up, never stored
// per component.
class UnionFind {
 public:
  explicit UnionFind(size_t n) : parent_(n) {}
  void make(uint32_t x) { parent_[x] = x; }
  uint32_t find(uint32_t x) {
    while (parent_[x] != x) {
      parent_[x] = parent_[parent_[x]];  // path halving
      x = parent_[x];
    }
    return x;
  }
  void link(uint32_t child, uint32_t root) { parent_[child] = root; }

 private:
  std::vector<uint32_t> parent_;
};

// Dimension 0. Marks in `death_edges` (indexed by cell index) every edge that kills a class:
// cohomology in dimension 1 clears exactly those columns.
template <int D, Construction C>
void persistence_dim0(const Grid<D, C>& g, std::vector<RawPair>& out, Bitset* death_edges,
                      CancelToken& cancel) {
  UnionFind uf(size_t(g.n_vertex));
  // Birth rank of each 0-cell; for V it is the vertex's own rank.
  std::vector<uint32_t> vbirth(C == Construction::V ? 0 : size_t(g.n_vertex));
  auto birth = [&](uint32_t v) { return C == Construction::V ? g.rank[v] : vbirth[v]; };
  const auto nbs = g.neighbours_for({0, 1});
  for (int64_t r = 0; r < g.n_gen; ++r) {
    cancel.poll();
    const int64_t gi = g.order[r];
    const Cell gc = g.gen_cell(gi);
    const auto before = g.before_mask(gi, gc, uint64_t(r), nbs);
    for (const auto& e : g.star[0]) {
      if (!g.owns(before, e)) continue;
      const uint32_t v = uint32_t(g.vertex_index(gc + e.delta));
      uf.make(v);
      if (C == Construction::T) vbirth[v] = uint32_t(r);
    }
    for (const auto& e : g.star[1]) {
      if (!g.owns(before, e)) continue;
      const Cell c = gc + e.delta;
      int axis = 0;
      while (!Grid<D, C>::odd(c, axis)) ++axis;
      uint32_t a = uf.find(uint32_t(g.vertex_index(c - Grid<D, C>::unit(axis))));
      uint32_t b = uf.find(uint32_t(g.vertex_index(c + Grid<D, C>::unit(axis))));
      if (a == b) continue;
      if (birth(a) < birth(b)) std::swap(a, b);  // a is the younger root: it dies
      out.push_back({birth(a), uint32_t(r)});
      uf.link(a, b);
      if (death_edges) death_edges->set(size_t(g.cell_index(c)));
    }
  }
  for (int64_t v = 0; v < g.n_vertex; ++v)
    if (uf.find(uint32_t(v)) == uint32_t(v)) out.push_back({birth(uint32_t(v)), kEssential});
}

// Dimension D-1 by duality: the pairs (sigma, tau) of (D-1)- and D-cells are the merges of the
// dual graph (D-cells as nodes, (D-1)-cells as edges, the outside as one node) processed in
// decreasing order, where the younger component is the one with the smaller oldest key.
template <int D, Construction C>
void persistence_top_dual(const Grid<D, C>& g, std::vector<RawPair>& out, CancelToken& cancel) {
  const uint32_t outside = uint32_t(g.n_top);
  UnionFind uf(size_t(g.n_top) + 1);
  std::vector<Key> tkey(size_t(g.n_top) + 1);
  uf.make(outside);
  tkey[outside] = ~Key(0);
  auto node = [&](Cell c, int axis, int side) -> uint32_t {
    const int64_t x = Grid<D, C>::coord(c, axis) + side;
    if (x < 0 || x >= g.cshape[axis]) return outside;
    return uint32_t(g.top_index(side > 0 ? c + Grid<D, C>::unit(axis) : c - Grid<D, C>::unit(axis)));
  };
  const auto nbs = g.neighbours_for({D - 1, D});
  for (int64_t r = g.n_gen - 1; r >= 0; --r) {
    cancel.poll();
    const int64_t gi = g.order[r];
    const Cell gc = g.gen_cell(gi);
    const auto before = g.before_mask(gi, gc, uint64_t(r), nbs);
    const auto& top = g.star[D];
    for (auto e = top.rbegin(); e != top.rend(); ++e) {
      if (!g.owns(before, *e)) continue;
      const uint32_t t = uint32_t(g.top_index(gc + e->delta));
      uf.make(t);
      tkey[t] = (Key(r) << kCodeBits) | e->code;
    }
    const auto& faces = g.star[D - 1];
    for (auto e = faces.rbegin(); e != faces.rend(); ++e) {
      if (!g.owns(before, *e)) continue;
      const Cell c = gc + e->delta;
      int axis = 0;
      while (Grid<D, C>::odd(c, axis)) ++axis;  // the one axis along which c is flat
      uint32_t a = uf.find(node(c, axis, -1));
      uint32_t b = uf.find(node(c, axis, +1));
      if (a == b) continue;
      if (tkey[a] > tkey[b]) std::swap(a, b);  // a: smaller oldest key = younger in reverse order
      out.push_back({uint32_t(r), uint32_t(tkey[a] >> kCodeBits)});
      uf.link(a, b);
    }
  }
}

}  // namespace cuph
