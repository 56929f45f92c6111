// The minimum spanning forest of a pass's tree graph (cubical_nd.cuh: nodes are the roots of
// the flattened forest, edges the candidate joins, weighted by key in the direction of the
// pass), by Boruvka's rounds, so that the sequential elder rule replays about one join per
// class instead of one per candidate: 64x56x56 volumes have 0.35-2.8 candidates per voxel but
// only 0.001 (smooth) to 0.15 (noise) roots per voxel.
//
// Exact because a join that is not in the forest closes a cycle when it comes (Kruskal): its
// trees are joined by lighter edges already. Weights are made unique by the edge index (ties
// of one key join trees at one generator, whose pairs do not depend on the order).
//
// A round, each step a launch (the host loops until a round hooks nothing):
//   msf_reset   per node: no best edge yet;
//   msf_key     per edge between two components: the lightest key at each of its components;
//   msf_edge    per such edge: the lowest index among the edges of that key, at each;
//   msf_other   per component with an edge: the component at the edge's other end;
//   msf_hook    per such component: hooked onto the other one (of two that chose the same
//               edge, the larger hooks onto the smaller), its edge marked as the forest's;
//   msf_jump    per node, twice: its component's root (halve_path, then point_to_root: exact
//               labels, which the next round compares).
// Components are labelled by node index within the item, as the forest is; comp starts as the
// flattened forest itself (a root is its own component, other nodes point to their root).
#pragma once
#include <cstdint>

#include "cubical_nd.cuh"

namespace cuph {
namespace gpu {

// The arrays of one pass's rounds (n_items * nodes() per node array, the pass's candidates per
// edge array).
struct Msf {
  BatchN b;
  int q = 0;
  uint32_t* comp = nullptr;
  uint64_t* best = nullptr;   // per component root: the lightest key (dual: complemented)
  uint64_t* edge = nullptr;   // per component root: the lowest edge of that key
  uint32_t* other = nullptr;  // per component root: the component at the edge's other end
  uint8_t* chosen = nullptr;  // per edge: in the forest
  uint32_t* hooked = nullptr;  // set when a round hooks a component
  uint32_t* count = nullptr;   // forest edges per item (msf_count), then written (msf_fill)
  uint32_t* fill = nullptr;
  uint64_t* start = nullptr;   // n_items + 1: prefix sums of count
  Critical* kept = nullptr;    // the forest's edges, item by item
  CUPH_HD uint64_t weight(const Critical& c) const { return q == 1 ? ~c.key : c.key; }
};

CUPH_HD inline void msf_init(const Msf& m, int64_t x) { m.comp[x] = m.b.parent[m.q][x]; }

CUPH_HD inline void msf_reset(const Msf& m, int64_t x) {
  m.best[x] = ~uint64_t(0);
  m.edge[x] = ~uint64_t(0);
}

// The candidate's item's first node and the components of its two ends (item-local labels).
struct MsfEnds {
  int64_t base;
  uint32_t a, b;
};
CUPH_HD inline MsfEnds msf_ends(const Msf& m, const Critical& c, int64_t e) {
  const int64_t base = item_of_slot(m.b.start[m.q], m.b.n_items, e) * m.b.nodes();
  return {base, m.comp[base + c.owner], m.comp[base + c.join]};
}

CUPH_HD inline void msf_key(const Msf& m, int64_t e) {
  const Critical& c = m.b.crit[m.q][e];
  const MsfEnds s = msf_ends(m, c, e);
  if (s.a == s.b) return;
  atomic_min(&m.best[s.base + s.a], m.weight(c));
  atomic_min(&m.best[s.base + s.b], m.weight(c));
}

CUPH_HD inline void msf_edge(const Msf& m, int64_t e) {
  const Critical& c = m.b.crit[m.q][e];
  const MsfEnds s = msf_ends(m, c, e);
  if (s.a == s.b) return;
  const uint64_t w = m.weight(c);
  if (m.best[s.base + s.a] == w) atomic_min(&m.edge[s.base + s.a], uint64_t(e));
  if (m.best[s.base + s.b] == w) atomic_min(&m.edge[s.base + s.b], uint64_t(e));
}

CUPH_HD inline void msf_other(const Msf& m, int64_t x) {
  const int64_t base = (x / m.b.nodes()) * m.b.nodes();
  const uint32_t self = uint32_t(x - base);
  if (m.comp[x] != self || m.edge[x] == ~uint64_t(0)) return;
  const int64_t e = int64_t(m.edge[x]);
  const MsfEnds s = msf_ends(m, m.b.crit[m.q][e], e);
  m.other[x] = s.a == self ? s.b : s.a;
}

// Reads only its own comp and the components' edges and others: no body reads a comp that
// another one writes in this launch.
CUPH_HD inline void msf_hook(const Msf& m, int64_t x) {
  const int64_t base = (x / m.b.nodes()) * m.b.nodes();
  const uint32_t self = uint32_t(x - base);
  if (m.comp[x] != self || m.edge[x] == ~uint64_t(0)) return;
  const uint32_t o = m.other[x];
  const uint64_t e = m.edge[x];
  if (m.edge[base + o] == e && self < o) return;  // o hooks onto this one
  m.comp[x] = o;
  m.chosen[e] = 1;
  *m.hooked = 1;  // every writer writes 1
}

CUPH_HD inline void msf_jump(const Msf& m, int64_t x, bool exact) {
  const int64_t base = (x / m.b.nodes()) * m.b.nodes();
  uint32_t* comp = m.comp + base;
  exact ? point_to_root(comp, uint32_t(x - base)) : halve_path(comp, uint32_t(x - base));
}

// Per edge, after the rounds: the forest's edges counted per item (fill = false), then written
// from start[item] on (fill = true).
CUPH_HD inline void msf_keep(const Msf& m, int64_t e, bool fill) {
  if (!m.chosen[e]) return;
  const int64_t item = item_of_slot(m.b.start[m.q], m.b.n_items, e);
  if (!fill) {
    atomic_add(&m.count[item], 1u);
    return;
  }
  m.kept[m.start[item] + atomic_add(&m.fill[item], 1u)] = m.b.crit[m.q][e];
}

}  // namespace gpu
}  // namespace cuph
