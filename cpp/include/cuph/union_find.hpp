// Union-find with the elder rule, for dimension 0 (0-cells joined by edges in increasing order)
// and, by Alexander duality, for the top dimension D-1 (top cells joined by (D-1)-cells in
// decreasing order, with the outside of the box as one extra, oldest node).
//
// Both passes are one algorithm over the padded generator grid. Most joins are decided locally,
// in a sweep in memory order without any sort (the idea of gudhi's Persistence_on_rectangle and
// of Flash Cubical, here for any dimension and both constructions): at each generator g, the
// node cells it owns are new, the other nodes around it are old, and old nodes that are joined
// by cells already present near g are in the same component. A join that touches a group of
// new nodes is a zero-length pair (pre-linked into the forest); a join inside one group creates
// a cycle; only joins of two different old groups are "critical". Critical joins are then sorted
// and replayed in filtration order on the pre-linked forest. Nodes are named by a nearby
// generator's padded index, so no coordinates are ever decoded.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "bitset.hpp"
#include "cancel.hpp"
#include "diagram.hpp"
#include "grid.hpp"

namespace cuph {

inline uint32_t find_root(std::vector<uint32_t>& parent, uint32_t x) {
  while (parent[x] != x) {
    parent[x] = parent[parent[x]];  // path halving
    x = parent[x];
  }
  return x;
}

// Dual == false: dimension 0 (nodes = vertices, joins = edges, increasing order).
// Dual == true: dimension D-1 (nodes = top cells, joins = (D-1)-cells, decreasing order).
// `keys` is the padded generator key array (ranks or packed keys; border = max).
// `death_edges` (dimension 0 only, may be null) receives the cell ids of edges that kill a class:
// cohomology in dimension 1 clears exactly those columns.
template <bool Dual, int D, Construction C, class KeyT>
void union_find_pass(const Grid<D, C>& g, const KeyT* keys, bool keep_diagonal,
                     std::vector<RawPair>& out, Bitset* death_edges, CancelToken& cancel) {
  constexpr bool V = C == Construction::V;
  constexpr KeyT kMax = ~KeyT(0);
  // Old nodes around g are joined through cells of g's star (T vertices, V cubes) or, for
  // V vertices and T top cells, through the diagonal neighbour of two axis neighbours.
  constexpr bool star_case = (C == Construction::T) != Dual;
  const int node_dim = Dual ? D : 0, join_dim = Dual ? D - 1 : 1;
  const uint32_t outside = uint32_t(g.pad.size);

  // A node at doubled offset q from the generator: its id step, and the generator that must be
  // real for it to exist (dual nodes only: the far corner of a V cube, the T top cell itself).
  struct NodeRef { int64_t step, witness; int slot; };
  std::vector<int64_t> slot_steps, witness_of;  // the distinct nodes around a generator
  auto node_ref = [&](const int* q) {
    NodeRef r{0, 0, 0};
    for (int i = 0; i < D; ++i) {
      const int h = (q[i] % 2 == 0) ? q[i] / 2 : V ? (q[i] - 1) / 2 : (q[i] + 1) / 2;
      r.step += h * g.pad.stride[i];
      r.witness += (q[i] % 2 == 0 ? q[i] / 2 : q[i]) * g.pad.stride[i];
    }
    auto it = std::find(slot_steps.begin(), slot_steps.end(), r.step);
    r.slot = int(it - slot_steps.begin());
    if (it == slot_steps.end()) {
      slot_steps.push_back(r.step);
      witness_of.push_back(r.witness);
    }
    return r;
  };
  struct Create { StarEntry<D> e; NodeRef n; };
  struct Join { StarEntry<D> e; NodeRef a, b; int64_t witness; int far_slot; };
  std::vector<Create> creates;
  std::vector<Join> joins;
  for (const auto& e : g.star[size_t(node_dim)]) {
    int q[D];
    for (int i = 0; i < D; ++i) q[i] = e.off[i];
    creates.push_back({e, node_ref(q)});
  }
  for (const auto& e : g.star[size_t(join_dim)]) {
    int axis = 0;  // the axis joining the two nodes: where the join cell is odd (0) / even (dual)
    while (((e.off[axis] != 0) == V) != !Dual) ++axis;
    int qa[D], qb[D], far[D];
    for (int i = 0; i < D; ++i) qa[i] = qb[i] = far[i] = e.off[i];
    --qa[axis];
    ++qb[axis];
    const NodeRef na = node_ref(qa), nb = node_ref(qb);
    // Block case: the join's node other than the generator itself (an axis neighbour).
    joins.push_back({e, na, nb, node_ref(far).witness, na.step ? na.slot : nb.slot});
  }
  if (Dual) {  // visit each generator's joins in decreasing (key, code) order
    std::reverse(joins.begin(), joins.end());
  }
  // Block case: for two joins towards axis neighbours along different axes, the neighbour
  // index of their diagonal generator.
  std::vector<int> diagonal(joins.size() * joins.size(), -1);
  std::vector<int> needed;
  {
    std::vector<int> list = g.neighbours_for({node_dim, join_dim});
    if (!star_case) {
      for (size_t x = 0; x < joins.size(); ++x)
        for (size_t y = 0; y < joins.size(); ++y) {
          int off[D];
          bool ok = true;
          for (int i = 0; i < D; ++i) {
            const int a = joins[x].e.off[i], b = joins[y].e.off[i];
            ok &= !(a && b);
            off[i] = a + b;
          }
          if (!ok) continue;
          diagonal[x * joins.size() + y] = g.neighbour_of(off);
          list.push_back(diagonal[x * joins.size() + y]);
        }
    }
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    needed = list;
  }

  std::vector<uint32_t> parent(size_t(g.pad.size) + 1);
  std::vector<KeyT> age(size_t(g.pad.size) + 1);
  parent[outside] = outside;
  age[outside] = kMax;
  struct Critical { KeyT key; uint8_t code; uint32_t owner, a, b; };
  std::vector<Critical> critical;
  KeyT min_key = kMax;

  // Local union-find over the fixed set of nodes around a generator (two slots may both stand
  // for the outside; keeping them apart locally only makes a join critical, never wrong).
  const int n_slots = int(slot_steps.size());
  std::vector<int> slot_parent(static_cast<size_t>(n_slots));
  std::vector<char> slot_new(static_cast<size_t>(n_slots));
  std::vector<uint32_t> slot_node(static_cast<size_t>(n_slots));
  auto slot_root = [&](int s) {
    while (slot_parent[s] != s) s = slot_parent[s];
    return s;
  };
  auto node_at = [&](int64_t p, const NodeRef& n) -> uint32_t {
    if (Dual && keys[p + n.witness] == kMax) return outside;
    return uint32_t(p + n.step);
  };
  // A node of the local group with root slot b (any member names the same global component).
  auto node_of_group = [&](int b, int64_t p) -> uint32_t {
    if (slot_new[size_t(b)]) return slot_node[size_t(b)];
    return node_at(p, NodeRef{slot_steps[size_t(b)], witness_of[size_t(b)], b});
  };

  int64_t idx[D] = {};
  for (int64_t j = 0; j < g.n_gen; ++j) {
    cancel.poll();
    int64_t p = 0;
    for (int i = 0; i < D; ++i) p += (idx[i] + 1) * g.pad.stride[i];
    for (int i = D - 1; i >= 0; --i) {
      if (++idx[i] < g.pad.shape[i] - 2) break;
      idx[i] = 0;
    }
    const KeyT r = keys[p];
    if (!Dual) min_key = std::min(min_key, r);
    const auto before = g.before_mask(keys, p, r, needed);
    for (int s = 0; s < n_slots; ++s) {
      slot_parent[size_t(s)] = s;
      slot_new[size_t(s)] = 0;
    }
    // New nodes.
    for (const auto& c : creates) {
      if (!g.owns(before, c.e)) continue;
      const uint32_t n = uint32_t(p + c.n.step);
      parent[n] = n;
      slot_new[size_t(c.n.slot)] = 1;
      slot_node[size_t(c.n.slot)] = n;
    }
    // Old nodes already joined near g.
    if (star_case) {
      for (const auto& jn : joins) {
        if (g.owns(before, jn.e)) continue;
        if (Dual && keys[p + jn.witness] == kMax) continue;  // the face is outside the item
        const int a = slot_root(jn.a.slot), b = slot_root(jn.b.slot);
        if (a != b) slot_parent[size_t(a)] = b;
      }
    } else {
      for (size_t x = 0; x < joins.size(); ++x) {
        if (!g.owns(before, joins[x].e)) continue;
        for (size_t y = x + 1; y < joins.size(); ++y) {
          const int d = diagonal[x * joins.size() + y];
          if (d < 0 || !g.owns(before, joins[y].e) || !((before >> d) & 1)) continue;
          const int a = slot_root(joins[x].far_slot), b = slot_root(joins[y].far_slot);
          if (a != b) slot_parent[size_t(a)] = b;
        }
      }
    }
    // The joins g owns, in filtration order.
    for (const auto& jn : joins) {
      if (!g.owns(before, jn.e)) continue;
      int a = slot_root(jn.a.slot), b = slot_root(jn.b.slot);
      if (a == b) continue;  // a cycle: not a death
      const uint32_t na = node_at(p, jn.a), nb = node_at(p, jn.b);
      if (!slot_new[size_t(jn.a.slot)]) slot_node[size_t(jn.a.slot)] = na;
      if (!slot_new[size_t(jn.b.slot)]) slot_node[size_t(jn.b.slot)] = nb;
      if (slot_new[size_t(a)] || slot_new[size_t(b)]) {
        if (!slot_new[size_t(a)]) std::swap(a, b);  // a: a group of new nodes, born and dead at g
        parent[slot_node[size_t(a)]] = node_of_group(b, p);
        slot_parent[size_t(a)] = b;
        if (keep_diagonal) out.push_back({uint64_t(r), uint64_t(r)});
        if (death_edges) death_edges->set(size_t(p) * Grid<D, C>::n_codes + jn.e.code);
      } else {
        critical.push_back({r, jn.e.code, uint32_t(p), na, nb});
        slot_parent[size_t(a)] = b;
      }
    }
    // New groups that never met an old one: components born at g.
    for (int s = 0; s < n_slots; ++s)
      if (slot_new[size_t(s)] && slot_parent[size_t(s)] == s) age[slot_node[size_t(s)]] = r;
  }

  std::sort(critical.begin(), critical.end(), [](const Critical& x, const Critical& y) {
    const bool less = x.key < y.key || (x.key == y.key && x.code < y.code);
    return Dual ? !less && (x.key != y.key || x.code != y.code) : less;
  });
  for (const Critical& c : critical) {
    cancel.poll();
    uint32_t a = find_root(parent, c.a), b = find_root(parent, c.b);
    if (a == b) continue;
    // The younger root dies: born later in the direction of the pass.
    if (Dual ? age[a] > age[b] : age[a] < age[b]) std::swap(a, b);
    if (keep_diagonal || age[a] != c.key)
      out.push_back(Dual ? RawPair{uint64_t(c.key), uint64_t(age[a])}
                         : RawPair{uint64_t(age[a]), uint64_t(c.key)});
    parent[a] = b;
    if (death_edges) death_edges->set(size_t(c.owner) * Grid<D, C>::n_codes + c.code);
  }
  // The box is connected: one essential class, born at the global minimum.
  if (!Dual) out.push_back({uint64_t(min_key), kEssential});
}

}  // namespace cuph
