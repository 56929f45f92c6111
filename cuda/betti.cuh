// Betti numbers of the sublevel complex {x <= eta} of each 2-D or 3-D item of a batch (one eta
// per item) as portable kernel bodies: the GPU path of cuph.betti_numbers_at, and with it of
// Betti profiles of activation maps, without a persistence diagram. The rules are the CPU
// kernel's (cpp/include/cuph/betti.hpp), on a grid padded by one cell per side (label 0), with
// S = {generators with value <= eta} (label 1) and the rest (label 2):
//  * beta_0: components of S under its adjacency (V: along axes; T: closed cubes that touch);
//  * beta_{d-1}, by Alexander duality: components of the complement (labels 2, under the other
//    adjacency) that do not reach the padding, which stands for the outside of the box;
//  * beta_1 of 3-D items from the Euler characteristic, beta_1 = beta_0 + beta_2 - chi, with
//    chi summed over vertices from a table of the 2^d generators around each (betti.hpp's).
// Components come from union-find with atomics, as in GPU connected-component labelling:
// `unite` links the larger of two roots under the smaller by compare-and-swap and retries when
// another body moved it first. Links point to smaller indices, so the forest stays acyclic in
// any interleaving, every root is its component's smallest cell, and the padding's component
// has root 0 (a padding cell).
#pragma once
#include <cstdint>
#include <vector>

#include "cuph/portable.hpp"
#include "input.cuh"

namespace cuph {
namespace gpu {

// What the bodies need of the items' shape, made once per batch on the host (host.hpp).
struct BettiTables {
  int d = 2;
  uint8_t v = 1;                           // V construction (else T)
  int64_t shape[3] = {1, 1, 1};            // the item's axes (d of them)
  int64_t ps[3] = {0, 0, 0};               // padded strides
  int64_t padded = 0;                      // padded cells per item
  int n_face = 0, n_full = 0;              // positive halves of the two adjacencies
  int64_t face[3] = {}, full[13] = {};
  int64_t corner[8] = {};                  // the 2^d generators of a vertex's star, + side
  int8_t euler[256] = {};                  // chi of the cells anchored at a vertex, by mask
};

struct BettiBatch {
  Input in;
  int64_t n_items = 0;
  const double* eta = nullptr;  // one per item
  uint8_t* lab = nullptr;       // n_items * padded: 0 padding, 1 in S, 2 not in S
  uint32_t* parent = nullptr;   // n_items * padded, item-local indices
  uint64_t* nan_at = nullptr;   // the first NaN's element index (batch-flat), else ~0
  uint32_t* roots[2] = {nullptr, nullptr};  // per item: components of S, inner complement ones
  uint32_t* plus = nullptr;     // per item: the positive and negative terms of chi
  uint32_t* minus = nullptr;
};

// The item-local padded cell p's coordinates; false on the padding.
CUPH_HD inline bool interior(const BettiTables& t, int64_t p, int64_t* x) {
  bool in = true;
  for (int i = 0; i < t.d; ++i) {
    x[i] = (p / t.ps[i]) % (t.shape[i] + 2);
    in = in && x[i] >= 1 && x[i] <= t.shape[i];
  }
  return in;
}

// Element e of n_items * padded.
CUPH_HD inline void betti_label(const BettiBatch& b, const BettiTables& t, int64_t e) {
  const int64_t item = e / t.padded, p = e % t.padded;
  int64_t x[3];
  if (!interior(t, p, x)) {
    b.lab[e] = 0;
    b.parent[e] = 0;  // the outside, itself a padding cell
    return;
  }
  int64_t flat = 0;
  for (int i = 0; i < t.d; ++i) flat = flat * t.shape[i] + (x[i] - 1);
  const double value = read_value(b.in.dtype, element(b.in, item, flat));
  if (is_nan(value)) atomic_min(b.nan_at, uint64_t(item * t.shape[0] * t.shape[1] * t.shape[2] + flat));
  b.lab[e] = value <= b.eta[item] ? 1 : 2;
  b.parent[e] = uint32_t(p);
}

CUPH_HD inline uint32_t shared_root(const uint32_t* parent, uint32_t x) {
  for (uint32_t p = atomic_load(&parent[x]); p != x; p = atomic_load(&parent[x])) x = p;
  return x;
}
CUPH_HD inline void unite(uint32_t* parent, uint32_t a, uint32_t b) {
  for (;;) {
    a = shared_root(parent, a);
    b = shared_root(parent, b);
    if (a == b) return;
    if (a < b) {
      const uint32_t t = a;
      a = b;
      b = t;
    }
    if (atomic_cas(&parent[a], a, b) == a) return;  // else a gained a parent: look again
  }
}

// Element e of n_items * padded: joins the cell to its neighbours of the same label on the
// positive half of its label's adjacency (each pair once), and a complement cell to the
// outside when any neighbour is padding.
CUPH_HD inline void betti_unite(const BettiBatch& b, const BettiTables& t, int64_t e) {
  const uint8_t cls = b.lab[e];
  if (!cls) return;
  const int64_t item = e / t.padded, p = e % t.padded;
  const uint8_t* lab = b.lab + item * t.padded;
  uint32_t* parent = b.parent + item * t.padded;
  const bool face = (cls == 1) == bool(t.v);
  const int n = face ? t.n_face : t.n_full;
  const int64_t* off = face ? t.face : t.full;
  bool outside = false;
  for (int j = 0; j < n; ++j) {
    const uint8_t up = lab[p + off[j]], down = lab[p - off[j]];
    if (up == cls) unite(parent, uint32_t(p), uint32_t(p + off[j]));
    outside = outside || up == 0 || down == 0;
  }
  if (cls == 2 && outside) unite(parent, uint32_t(p), 0u);
}

// Element e of n_items * padded: counts roots (after `betti_unite`) and, for 3-D items, the
// Euler characteristic term of each vertex (V: every item cell; T: the cube corners, padded
// coordinates 0..n).
CUPH_HD inline void betti_count(const BettiBatch& b, const BettiTables& t, int64_t e) {
  const int64_t item = e / t.padded, p = e % t.padded;
  const uint8_t cls = b.lab[e];
  if (cls && b.parent[e] == uint32_t(p)) atomic_add(&b.roots[cls - 1][item], 1u);
  if (t.d != 3) return;
  int64_t x[3];
  const bool inner = interior(t, p, x);
  bool vertex = bool(t.v) ? inner : true;
  if (!t.v)
    for (int i = 0; i < 3; ++i) vertex = vertex && x[i] <= t.shape[i];
  if (!vertex) return;
  const uint8_t* lab = b.lab + item * t.padded;
  unsigned mask = 0;
  for (int c = 0; c < 8; ++c) mask |= unsigned(lab[p + t.corner[c]] & 1) << c;
  const int chi = t.euler[mask];
  if (chi > 0) atomic_add(&b.plus[item], uint32_t(chi));
  if (chi < 0) atomic_add(&b.minus[item], uint32_t(-chi));
}

// beta_0 .. beta_{d-1} per item (d per row) from the kernels' counters: host code, for both
// launchers.
inline std::vector<int64_t> betti_of(int d, const uint32_t* roots0, const uint32_t* roots1,
                                     const uint32_t* plus, const uint32_t* minus, int64_t n_items) {
  std::vector<int64_t> out(static_cast<size_t>(n_items * d));
  for (int64_t i = 0; i < n_items; ++i) {
    int64_t* row = out.data() + i * d;
    row[0] = roots0[i];
    row[d - 1] = roots1[i];
    if (d == 3) row[1] = row[0] + row[2] - (int64_t(plus[i]) - int64_t(minus[i]));
  }
  return out;
}

}  // namespace gpu
}  // namespace cuph
