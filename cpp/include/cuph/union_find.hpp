// Union-find with the elder rule, for dimension 0 (0-cells joined by edges in increasing order)
// and, by Alexander duality, for the top dimension D-1 (top cells joined by (D-1)-cells in
// decreasing order, with the outside of the box as one extra, oldest node).
//
// Both passes are one algorithm over the padded generator grid: walk generators in rank order,
// create the node cells each one owns, then join the two nodes of each owned "edge" cell. Nodes
// are named by a nearby generator's padded index, so no coordinates are ever decoded.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "bitset.hpp"
#include "cancel.hpp"
#include "diagram.hpp"
#include "grid.hpp"

namespace cuph {

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

// Dual == false: dimension 0 (nodes = vertices, joins = edges, increasing order).
// Dual == true: dimension D-1 (nodes = top cells, joins = (D-1)-cells, decreasing order).
// `death_edges` (dimension 0 only, may be null) receives the cell ids of edges that kill a class:
// cohomology in dimension 1 clears exactly those columns.
template <bool Dual, int D, Construction C>
void union_find_pass(const Grid<D, C>& g, bool keep_diagonal, std::vector<RawPair>& out,
                     Bitset* death_edges, CancelToken& cancel) {
  constexpr bool V = C == Construction::V;
  const int node_dim = Dual ? D : 0, join_dim = Dual ? D - 1 : 1;
  // Padded-index step from a generator to the node at doubled offset q (see file comment).
  auto node_step = [&](const int* q) {
    int64_t s = 0;
    for (int i = 0; i < D; ++i) {
      const int h = (q[i] % 2 == 0) ? q[i] / 2 : V ? (q[i] - 1) / 2 : (q[i] + 1) / 2;
      s += h * g.pad.stride[i];
    }
    return s;
  };
  struct Create { StarEntry<D> e; int64_t step; };
  struct Join { StarEntry<D> e; int64_t a, b; };
  std::vector<Create> creates;
  std::vector<Join> joins;
  for (const auto& e : g.star[size_t(node_dim)]) {
    int q[D];
    for (int i = 0; i < D; ++i) q[i] = e.off[i];
    creates.push_back({e, node_step(q)});
  }
  for (const auto& e : g.star[size_t(join_dim)]) {
    int axis = 0;  // the axis joining the two nodes: where the join cell is odd (0) / even (dual)
    while (((e.off[axis] != 0) == V) != !Dual) ++axis;
    int qa[D], qb[D];
    for (int i = 0; i < D; ++i) qa[i] = qb[i] = e.off[i];
    --qa[axis];
    ++qb[axis];
    joins.push_back({e, node_step(qa), node_step(qb)});
  }
  if (Dual) {  // visit in decreasing (rank, code) order
    std::reverse(creates.begin(), creates.end());
    std::reverse(joins.begin(), joins.end());
  }

  const uint32_t outside = uint32_t(g.pad.size);
  UnionFind uf(size_t(g.pad.size) + 1);
  std::vector<uint32_t> age(size_t(g.pad.size) + 1);  // birth rank of each node
  if (Dual) {
    // Top cells outside the item are the outside: a V cube needs its low corner in
    // [1, n-1] (padded), a T top cell must not be on the border.
    uf.make(outside);
    age[outside] = kBorderRank;
    int64_t idx[D] = {};
    for (int64_t p = 0; p < g.pad.size; ++p) {
      bool exists = true;
      for (int i = 0; i < D; ++i) exists &= idx[i] >= 1 && idx[i] <= g.pad.shape[i] - (V ? 3 : 2);
      if (!exists) uf.link(uint32_t(p), outside);
      for (int i = D - 1; i >= 0; --i) {
        if (++idx[i] < g.pad.shape[i]) break;
        idx[i] = 0;
      }
    }
  }
  const auto nbs = g.neighbours_for({node_dim, join_dim});
  for (int64_t i = 0; i < g.n_gen; ++i) {
    cancel.poll();
    const uint32_t r = uint32_t(Dual ? g.n_gen - 1 - i : i);
    const int64_t p = g.order[r];
    const auto before = g.before_mask(p, r, nbs);
    for (const auto& c : creates) {
      if (!g.owns(before, c.e)) continue;
      const uint32_t n = uint32_t(p + c.step);
      uf.make(n);
      age[n] = r;
    }
    for (const auto& j : joins) {
      if (!g.owns(before, j.e)) continue;
      uint32_t a = uf.find(uint32_t(p + j.a)), b = uf.find(uint32_t(p + j.b));
      if (a == b) continue;
      // The younger root dies: born later in the direction of the pass.
      if (Dual ? age[a] > age[b] : age[a] < age[b]) std::swap(a, b);
      // A class born and killed by the same generator has zero length: most joins of noisy data.
      if (keep_diagonal || age[a] != r) out.push_back(Dual ? RawPair{r, age[a]} : RawPair{age[a], r});
      uf.link(a, b);
      if (death_edges) death_edges->set(size_t(p) * Grid<D, C>::n_codes + j.e.code);
    }
  }
  // The box is connected: one essential class, born at the global minimum.
  if (!Dual) out.push_back({0, kEssential});
}

}  // namespace cuph
