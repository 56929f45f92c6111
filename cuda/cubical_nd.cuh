// Persistence of dimension 0 and, by Alexander duality, of the top dimension d-1, for items of
// 2 to 4 axes (V and T), as portable kernel bodies in the style of GPU connected-component
// labelling: no local programs, no sweep, every launch one body per node.
//
// Each pass is a graph on a grid of nodes, every node and join named by the generator whose
// value it takes (a packed key, (value word << 32) | flat index, so equal keys mean the same
// generator):
//
//   pass         nodes (grid)              joins                             order
//   V, dim 0     vertices (shape)          axis neighbours, max of the two   increasing
//   T, dim 0     top cells (shape)         all 3^d-1 neighbours, max         increasing
//   V, dim d-1   cubes (shape-1), outside  faces: max of their vertices      decreasing
//   T, dim d-1   top cells, outside        faces: min of the two cells       decreasing
//
// (T, dim 0: top cells that share any face are joined when the later one arrives; the dual
// passes are the CPU engine's, union_find.hpp: top cells joined by (d-1)-cells, the outside of
// the box the oldest node.)
//
//   node_key     per node: its key (a cube's is its largest vertex's), the item's minimum;
//   descend      per node: a pointer to its oldest neighbour among those it meets through a
//                join of its own generator (a zero-length pair: the node is born and joined at
//                once), else to itself (a critical birth); pointers go to older nodes, so they
//                form a forest whose roots are its oldest nodes;
//   flatten      per node, twice: first path halving (concurrent bodies write only ancestors, so
//                the trees stay trees, but one may overwrite a node's root with a stale
//                ancestor), then each node's own entry set to its root (a read-only walk, now
//                short): exact roots, which the candidates and the spanning forest's rounds
//                compare as tree labels;
//   candidates   per node, twice (count, then write after a prefix sum over items): its
//                earliest join to each other tree among the joins of its forward half-stencil
//                (and, dual, its joins to the outside);
//   (spanning_forest.cuh: the candidates reduced to their minimum spanning forest, about one
//                join per class, by Boruvka's rounds);
//   sort         a pass with an item of many joins: a bitonic network of launches over the
//                batch (rank_candidate, bitonic_step, unrank_candidate); else in the replay;
//   replay_n     per item and pass: the joins, sorted into the order of the pass, joined with
//                the elder rule on the trees (the younger root dies).
//
// A join inside one tree closes a cycle whatever its order, so only joins between trees can
// kill a class, and the pairs named by generators do not depend on which older neighbour a
// pointer takes or how joins of one generator are ordered: every pair is the CPU engine's.
// Middle dimensions (1 .. d-2) are not computed here (the Python layer's hybrid step takes
// them from the CPU engine).
#pragma once
#include <cstdint>

#include "cubical_2d.cuh"

namespace cuph {
namespace gpu {

constexpr int kMaxAxes = 4;
constexpr int kMaxStencil = 80;  // 3^4 - 1

struct PassN {
  uint8_t dual = 0;     // decreasing order, with the outside (node `size` of the item)
  uint8_t corners = 0;  // V dual: keys are maxima over the vertices of cubes and faces
  int dim = 0;          // the homology dimension of its pairs
  int64_t grid[kMaxAxes] = {1, 1, 1, 1};  // the node grid; a node is its C-order index there
  int64_t grid_size = 1;
  int n_nb = 0, n_half = 0;  // neighbour offsets; the first n_half are the forward half
  int8_t nb[kMaxStencil][kMaxAxes] = {};
};
struct TablesN {
  int d = 0;
  int64_t shape[kMaxAxes] = {1, 1, 1, 1};
  int64_t size = 1;  // generators per item; node `size` is the outside
  int passes = 1;
  int groups = 1;    // result groups (dimensions 0 .. maxdim) per item
  PassN pass[2];
};

struct BatchN {
  int64_t n_items = 0, size = 0;
  int passes = 1, groups = 1, dims[2] = {0, 0};
  Input in;
  bool superlevel = false;
  uint32_t* words = nullptr;   // n_items * size order-preserving value words
  uint64_t* nan_at = nullptr;  // the first NaN's element index (load_words_n), else ~0
  uint64_t* min_key = nullptr;                // n_items, set to ~0 before node_key
  uint64_t* nkey[2] = {nullptr, nullptr};     // n_items * nodes() per pass
  uint32_t* parent[2] = {nullptr, nullptr};   // likewise
  uint32_t* count[2] = {nullptr, nullptr};    // candidates per item (zeroed before counting)
  uint64_t* start[2] = {nullptr, nullptr};    // n_items + 1: prefix sums of count
  uint32_t* fill[2] = {nullptr, nullptr};     // n_items, zeroed before writing
  Critical* crit[2] = {nullptr, nullptr};     // candidates: key, and the two roots (owner, join)
  Pair* pairs[2] = {nullptr, nullptr};        // start[q][n_items] + n_items each
  uint32_t* n_pairs[2] = {nullptr, nullptr};  // n_items per pass
  CUPH_HD int64_t nodes() const { return size + 1; }
  CUPH_HD int n_groups() const { return groups; }
  CUPH_HD int dim_of(int q) const { return dims[q]; }
};

// Element e of n_items * size: its value word, as load_words (cubical_2d.cuh).
CUPH_HD inline void load_words_n(const BatchN& b, int64_t e) {
  uint32_t w;
  if (!value_word(b.in.dtype, element(b.in, e / b.size, e % b.size), w)) {
    atomic_min(b.nan_at, uint64_t(e));
    w = 0;
  }
  b.words[e] = b.superlevel ? ~w : w;
}

CUPH_HD inline void coords_of(const int64_t* grid, int d, int64_t v, int64_t* x) {
  for (int i = d - 1; i >= 0; --i) {
    x[i] = v % grid[i];
    v /= grid[i];
  }
}
CUPH_HD inline int64_t index_of(const int64_t* grid, int d, const int64_t* x) {
  int64_t v = 0;
  for (int i = 0; i < d; ++i) v = v * grid[i] + x[i];
  return v;
}
CUPH_HD inline uint64_t gen_key(const BatchN& b, int64_t item, int64_t flat) {
  return uint64_t(b.words[item * b.size + flat]) << 32 | uint64_t(flat);
}

// The largest key over the vertices y with lo[i] <= y[i] <= lo[i] + span[i] (span 0 or 1).
CUPH_HD inline uint64_t max_over_box(const BatchN& b, const TablesN& t, int64_t item,
                                     const int64_t* lo, const int* span) {
  uint64_t best = 0;
  for (int c = 0; c < (1 << t.d); ++c) {
    int64_t y[kMaxAxes];
    bool skip = false;
    for (int i = 0; i < t.d; ++i) {
      const int bit = (c >> i) & 1;
      skip |= bit > span[i];
      y[i] = lo[i] + bit;
    }
    if (skip) continue;
    const uint64_t k = gen_key(b, item, index_of(t.shape, t.d, y));
    best = k > best ? k : best;
  }
  return best;
}

// The key of the join of node x (key kx) with its neighbour x + o (key ku: ~0 for the outside).
CUPH_HD inline uint64_t join_key(const BatchN& b, const TablesN& t, const PassN& p, int64_t item,
                                 const int64_t* x, const int8_t* o, uint64_t kx, uint64_t ku) {
  if (!p.corners) return p.dual ? (kx < ku ? kx : ku) : (kx > ku ? kx : ku);
  // The face between cube x and cube x + o (o = +-e_a): the vertices of cube x at the side of o.
  int64_t lo[kMaxAxes];
  int span[kMaxAxes];
  for (int i = 0; i < t.d; ++i) {
    lo[i] = x[i] + (o[i] > 0 ? 1 : 0);
    span[i] = o[i] != 0 ? 0 : 1;
  }
  return max_over_box(b, t, item, lo, span);
}

// y = x + offset j of the pass's stencil; whether y is inside the node grid.
CUPH_HD inline bool neighbour(const PassN& p, int d, const int64_t* x, int j, int64_t* y) {
  bool inside = true;
  for (int i = 0; i < d; ++i) {
    y[i] = x[i] + p.nb[j][i];
    inside &= y[i] >= 0 && y[i] < p.grid[i];
  }
  return inside;
}

// Whether node a (key ka) is older than node b (key kb) in the order of the pass: by key, ties
// (cubes of one generator) by index.
CUPH_HD inline bool older(bool dual, uint64_t ka, int64_t a, uint64_t kb, int64_t b) {
  if (ka != kb) return dual ? ka > kb : ka < kb;
  return dual ? a > b : a < b;
}

// Element e of n_items * nodes(): the node's key in every pass (unused slots and the primal
// outside: ~0, a root that nothing joins).
CUPH_HD inline void node_key(const BatchN& b, const TablesN& t, int64_t e) {
  const int64_t item = e / b.nodes(), v = e % b.nodes();
  for (int q = 0; q < b.passes; ++q) {
    const PassN& p = t.pass[q];
    uint64_t key = ~uint64_t(0);
    if (v < p.grid_size) {
      if (p.corners) {
        int64_t x[kMaxAxes];
        int span[kMaxAxes];
        coords_of(p.grid, t.d, v, x);
        for (int i = 0; i < t.d; ++i) span[i] = 1;
        key = max_over_box(b, t, item, x, span);
      } else {
        key = gen_key(b, item, v);
      }
    }
    b.nkey[q][e] = key;
    if (q == 0 && v < t.size) atomic_min(&b.min_key[item], key);
  }
}

// Element e of n_items * nodes(): its pointer in every pass.
CUPH_HD inline void descend(const BatchN& b, const TablesN& t, int64_t e) {
  const int64_t item = e / b.nodes(), v = e % b.nodes(), base = item * b.nodes();
  for (int q = 0; q < b.passes; ++q) {
    const PassN& p = t.pass[q];
    const uint64_t* nkey = b.nkey[q] + base;
    int64_t best = v;
    if (v < p.grid_size) {
      int64_t x[kMaxAxes];
      coords_of(p.grid, t.d, v, x);
      const uint64_t kv = nkey[v];
      uint64_t kb = kv;
      for (int j = 0; j < p.n_nb; ++j) {
        int64_t y[kMaxAxes];
        const bool inside = neighbour(p, t.d, x, j, y);
        if (!inside && !p.dual) continue;
        const int64_t u = inside ? index_of(p.grid, t.d, y) : t.size;
        const uint64_t ku = inside ? nkey[u] : ~uint64_t(0);
        if (join_key(b, t, p, item, x, p.nb[j], kv, ku) != kv) continue;  // not v's generator
        if (older(p.dual, ku, u, kb, best)) {
          best = u;
          kb = ku;
        }
      }
    }
    b.parent[q][base + v] = uint32_t(best);
  }
}

// Shortens the path from node v of a forest (an item's `parent`, whose pointers only ever go
// up) by path halving. Bodies of one launch may do this at once on overlapping paths: every
// write is an ancestor of the node written, so the trees stay trees, but a body can overwrite
// a node that another one has just pointed to its root with an older, non-root ancestor.
CUPH_HD inline void halve_path(uint32_t* parent, uint32_t v) {
  uint32_t x = v;
  for (;;) {
    const uint32_t up = atomic_load(&parent[x]);
    if (up == x) break;
    const uint32_t skip = atomic_load(&parent[up]);
    if (skip != up) atomic_store(&parent[x], skip);
    x = skip;
  }
}
// Points node v to its root, writing only v's entry (so after a launch of these, every entry
// is its node's root: roots never move). Reads may see other entries before or after their
// write, both ancestors.
CUPH_HD inline void point_to_root(uint32_t* parent, uint32_t v) {
  uint32_t x = atomic_load(&parent[v]);
  for (uint32_t up; (up = atomic_load(&parent[x])) != x;) x = up;
  atomic_store(&parent[v], x);
}

// Element e of n_items * nodes(), twice (exact = false, then true): the node's root, in every
// pass (halve_path, then point_to_root).
CUPH_HD inline void flatten(const BatchN& b, int64_t e, bool exact) {
  const int64_t base = (e / b.nodes()) * b.nodes();
  for (int q = 0; q < b.passes; ++q) {
    uint32_t* parent = b.parent[q] + base;
    const uint32_t v = uint32_t(e % b.nodes());
    exact ? point_to_root(parent, v) : halve_path(parent, v);
  }
}

// Element e of n_items * nodes(), after flatten: the node's joins between two trees, counted
// (fill = false) or written from start[item] on (fill = true).
CUPH_HD inline void candidates(const BatchN& b, const TablesN& t, int64_t e, bool fill) {
  const int64_t item = e / b.nodes(), v = e % b.nodes(), base = item * b.nodes();
  for (int q = 0; q < b.passes; ++q) {
    const PassN& p = t.pass[q];
    if (v >= p.grid_size) continue;
    const uint64_t* nkey = b.nkey[q] + base;
    const uint32_t* parent = b.parent[q] + base;
    int64_t x[kMaxAxes];
    coords_of(p.grid, t.d, v, x);
    const uint32_t rv = parent[v];
    // The node's joins to other trees, one per tree: the earliest (a later join to the same
    // tree closes a cycle). T's dimension 0 has up to 13 (3-D) or 40 (4-D) forward joins, most
    // of them to one or two trees.
    uint64_t key[kMaxStencil / 2 + 1];
    uint32_t root[kMaxStencil / 2 + 1];
    uint32_t n = 0;
    auto add = [&](uint64_t k, uint32_t r) {
      for (uint32_t i = 0; i < n; ++i)
        if (root[i] == r) {
          if (p.dual ? k > key[i] : k < key[i]) key[i] = k;
          return;
        }
      key[n] = k;
      root[n++] = r;
    };
    for (int j = 0; j < p.n_nb; ++j) {
      int64_t y[kMaxAxes];
      if (neighbour(p, t.d, x, j, y)) {
        if (j >= p.n_half) continue;  // the neighbour's own forward join
        const int64_t u = index_of(p.grid, t.d, y);
        if (parent[u] != rv) add(join_key(b, t, p, item, x, p.nb[j], nkey[v], nkey[u]), parent[u]);
      } else if (p.dual && rv != uint32_t(t.size)) {  // a join to the outside
        add(join_key(b, t, p, item, x, p.nb[j], nkey[v], ~uint64_t(0)), uint32_t(t.size));
      }
    }
    if (fill && n) {
      const uint64_t at = b.start[q][item] + atomic_add(&b.fill[q][item], n);
      for (uint32_t i = 0; i < n; ++i) b.crit[q][at + i] = {key[i], rv, root[i]};
    }
    if (!fill && n) atomic_add(&b.count[q][item], n);
  }
}

// Sorting a pass's candidates over the whole batch at once, when an item has too many for one
// thread's heap sort (a 128^3 noise volume keeps ~0.2 per voxel after the spanning forest,
// ~3 before): a bitonic network of launches
// over entries that carry their item, in the order (item, key in the direction of the pass,
// other root): cubical_2d.cuh's `before` within each item. Padded to a power of two with
// entries that sort last.
struct Ranked {
  uint64_t item, key;  // key: the dual pass's complemented, so that every pass sorts upwards
  uint32_t owner, join;
};
CUPH_HD inline bool ranked_before(const Ranked& x, const Ranked& y) {
  if (x.item != y.item) return x.item < y.item;
  if (x.key != y.key) return x.key < y.key;
  return x.join < y.join;
}
// The item of slot e of a pass whose items start at start[0 .. n_items] (binary search).
CUPH_HD inline int64_t item_of_slot(const uint64_t* start, int64_t n_items, int64_t e) {
  int64_t lo = 0, hi = n_items;  // start[lo] <= e < start[hi]
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (int64_t(start[mid]) <= e) lo = mid;
    else hi = mid;
  }
  return lo;
}
// Element e of m (the padded count): candidate e of pass q into the network's array.
CUPH_HD inline void rank_candidate(const BatchN& b, int q, Ranked* a, int64_t e) {
  const int64_t total = int64_t(b.start[q][b.n_items]);
  if (e >= total) {
    a[e] = {~uint64_t(0), ~uint64_t(0), 0, ~uint32_t(0)};
    return;
  }
  const Critical& c = b.crit[q][e];
  a[e] = {uint64_t(item_of_slot(b.start[q], b.n_items, e)), q == 1 ? ~c.key : c.key, c.owner,
          c.join};
}
// Element e of m: one compare-exchange of the stage (k, j) of the network.
CUPH_HD inline void bitonic_step(Ranked* a, int64_t k, int64_t j, int64_t e) {
  const int64_t l = e ^ j;
  if (l <= e) return;
  const bool up = (e & k) == 0;
  if (up ? ranked_before(a[l], a[e]) : ranked_before(a[e], a[l])) {
    const Ranked tmp = a[e];
    a[e] = a[l];
    a[l] = tmp;
  }
}
// Element e of the pass's candidates: back in place, sorted (item by item, as start[] says).
CUPH_HD inline void unrank_candidate(const BatchN& b, int q, const Ranked* a, int64_t e) {
  b.crit[q][e] = {q == 1 ? ~a[e].key : a[e].key, a[e].owner, a[e].join};
}

// Element e of n_items * passes: pass e % passes of item e / passes, on one thread: its
// candidates sorted (cubical_2d.cuh's order: by key in the direction of the pass; already, if
// bit q of `sorted` is set) and joined with the elder rule; pairs of positive length to its
// pair slots, then the primal pass's essential class.
CUPH_HD inline void replay_n(const BatchN& b, int64_t e, unsigned sorted) {
  const int q = int(e % b.passes);
  const int64_t item = e / b.passes, base = item * b.nodes();
  const bool dual = q == 1;
  const uint64_t* nkey = b.nkey[q] + base;
  uint32_t* parent = b.parent[q] + base;
  Critical* crit = b.crit[q] + b.start[q][item];
  const int64_t n = int64_t(b.start[q][item + 1] - b.start[q][item]);
  if (!((sorted >> q) & 1)) sort_criticals(crit, n, dual);
  Pair* out = b.pairs[q] + b.start[q][item] + item;
  const ItemValueOf<BatchN> value{&b, item};
  uint32_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    const Critical& c = crit[i];
    uint32_t x = find_root(parent, c.owner), y = find_root(parent, c.join);
    if (x == y) continue;
    if (older(dual, nkey[x], x, nkey[y], y)) {  // x: the younger root, which dies
      const uint32_t tmp = x;
      x = y;
      y = tmp;
    }
    parent[x] = y;
    if (nkey[x] == c.key) continue;  // born and killed by one generator
    const uint64_t born = dual ? c.key : nkey[x], dies = dual ? nkey[x] : c.key;
    const double bv = value(born), dv = value(dies);
    if (bv != dv) out[kept++] = {uint32_t(born), uint32_t(dies), bv, dv};
  }
  if (!dual) out[kept++] = {uint32_t(b.min_key[item]), kNone, value(b.min_key[item]), 0.0};
  b.n_pairs[q][item] = kept;
}

}  // namespace gpu
}  // namespace cuph
