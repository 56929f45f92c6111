// Betti numbers of the sublevel complex {x <= eta} of each 2-D item of a batch (one eta per
// item), as portable kernel bodies: the GPU path of cuph.betti_numbers_at, and with it of the
// Betti profiles of activation maps, without a persistence diagram.
//
// beta_0 counts connected components, by union-find with atomics in the style of GPU
// connected-component labelling: `unite` links the larger of two roots under the smaller with
// a compare-and-swap, retrying if another body moved it first (links always point to a smaller
// index, so the forest stays acyclic whatever the interleaving). V: pixels are vertices, joined
// to their 4 neighbours; T: pixels are squares, and two squares that share a corner touch (8
// neighbours). beta_1 = beta_0 - chi (the box has no 2-cycles), with the Euler characteristic
// chi counted cell by cell: V: the pixels in, minus the edges and plus the squares whose
// vertices are all in; T: the vertices, edges and squares of the pixels in.
#pragma once
#include <cstdint>
#include <vector>

#include "cubical_2d.cuh"
#include "cuph/portable.hpp"

namespace cuph {
namespace gpu {

struct BettiBatch2 {
  Input2 in;
  int64_t n_items = 0, rows = 0, cols = 0;
  bool v = true;
  const double* eta = nullptr;  // n_items thresholds
  uint8_t* member = nullptr;    // n_items * rows * cols: the pixel is in {x <= eta}
  uint32_t* parent = nullptr;   // n_items * rows * cols: pixel union-find (item-local indices)
  uint64_t* nan_at = nullptr;   // the first NaN's element index, else ~0
  uint32_t* roots = nullptr;    // per item: beta_0
  uint32_t* plus = nullptr;     // per item: cells counted + in chi (vertices, squares)
  uint32_t* minus = nullptr;    // per item: cells counted - in chi (edges)

  BettiBatch2() = default;
  // The shape, input and thresholds of a batch; the launcher sets the arrays.
  BettiBatch2(const Input2& input, int64_t items, int64_t r, int64_t c, bool vertices)
      : in(input), n_items(items), rows(r), cols(c), v(vertices) {}
};

// Element e of n_items * rows * cols.
CUPH_HD inline void betti_mark(const BettiBatch2& b, int64_t e) {
  const int64_t size = b.rows * b.cols, item = e / size, flat = e % size;
  const double x = read_value(b.in.dtype, element(b.in, item, flat / b.cols, flat % b.cols));
  if (x != x) atomic_min(b.nan_at, uint64_t(e));
  b.member[e] = x <= b.eta[item];
  b.parent[e] = uint32_t(flat);
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

// Element e of n_items * rows * cols: joins the pixel to its neighbours below and to the right
// (and, for T, the two below diagonally), each pair once.
CUPH_HD inline void betti_unite(const BettiBatch2& b, int64_t e) {
  if (!b.member[e]) return;
  const int64_t size = b.rows * b.cols, item = e / size, flat = e % size;
  const int64_t r = flat / b.cols, c = flat % b.cols;
  const uint8_t* m = b.member + item * size;
  uint32_t* parent = b.parent + item * size;
  auto join = [&](int64_t rr, int64_t cc) {
    if (rr < 0 || rr >= b.rows || cc < 0 || cc >= b.cols || !m[rr * b.cols + cc]) return;
    unite(parent, uint32_t(flat), uint32_t(rr * b.cols + cc));
  };
  join(r, c + 1);
  join(r + 1, c);
  if (!b.v) {
    join(r + 1, c + 1);
    join(r + 1, c - 1);
  }
}

// Element e of n_items * (rows + 1) * (cols + 1): the grid point (i, j) counts its roots (a
// pixel that is its own parent) and its cells for chi. V: pixel (i, j) is a vertex, with the
// edges to its right and lower neighbours and the square to its lower right. T: (i, j) is the
// top-left corner of pixel (i, j), and counts that corner, the edges to its right and below it
// and the pixel, each present when a pixel containing it is in.
CUPH_HD inline void betti_count(const BettiBatch2& b, int64_t e) {
  const int64_t gw = b.cols + 1, grid = (b.rows + 1) * gw;
  const int64_t item = e / grid, i = (e % grid) / gw, j = (e % grid) % gw;
  const uint8_t* m = b.member + item * b.rows * b.cols;
  auto in = [&](int64_t r, int64_t c) {
    return r >= 0 && r < b.rows && c >= 0 && c < b.cols && m[r * b.cols + c];
  };
  uint32_t plus = 0, minus = 0;
  if (b.v) {
    if (!in(i, j)) return;
    if (b.parent[item * b.rows * b.cols + i * b.cols + j] == uint32_t(i * b.cols + j))
      atomic_add(&b.roots[item], 1u);
    plus = 1 + (in(i, j + 1) && in(i + 1, j) && in(i + 1, j + 1));
    minus = uint32_t(in(i, j + 1)) + uint32_t(in(i + 1, j));
  } else {
    if (in(i, j)) {
      if (b.parent[item * b.rows * b.cols + i * b.cols + j] == uint32_t(i * b.cols + j))
        atomic_add(&b.roots[item], 1u);
      ++plus;  // the square
    }
    plus += in(i - 1, j - 1) || in(i - 1, j) || in(i, j - 1) || in(i, j);  // the corner
    minus += j < b.cols && (in(i - 1, j) || in(i, j));                     // edge to the right
    minus += i < b.rows && (in(i, j - 1) || in(i, j));                     // edge below
  }
  if (plus) atomic_add(&b.plus[item], plus);
  if (minus) atomic_add(&b.minus[item], minus);
}

// beta_0, beta_1 per item from the kernels' counters (beta_1 = beta_0 - chi); host code, for
// both launchers.
inline std::vector<int64_t> betti_of(const uint32_t* roots, const uint32_t* plus,
                                     const uint32_t* minus, int64_t n_items) {
  std::vector<int64_t> out(size_t(n_items) * 2);
  for (int64_t i = 0; i < n_items; ++i) {
    const int64_t chi = int64_t(plus[i]) - int64_t(minus[i]);
    out[size_t(2 * i)] = roots[i];
    out[size_t(2 * i + 1)] = int64_t(roots[i]) - chi;
  }
  return out;
}

}  // namespace gpu
}  // namespace cuph
