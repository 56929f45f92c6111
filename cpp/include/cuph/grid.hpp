// The cubical complex of one item, in doubled coordinates: a cell's coordinate on an axis is even
// where the cell is a point on that axis and odd where it spans an interval, so its dimension is
// the number of odd coordinates. "Generators" carry the input values: the vertices (all
// coordinates even) for the V construction, the top cells (all odd) for T. A cell's value is the
// max over its vertices (V) or the min over the top cells containing it (T); the generator that
// attains it "owns" the cell.
//
// The total order of cells of one dimension is the 64-bit key (rank(owner) << 7 | code), where
// code encodes the cell's offset from its owner in {-1,0,1}^D. It refines the value order, puts
// faces before cofaces (same owner, fewer odd coordinates for V; for T a face has more top
// cofaces, so its min rank is <= the coface's), and identifies the cell uniquely, so every
// algorithm compares plain integers.
#pragma once
#include <array>
#include <initializer_list>
#include <type_traits>
#include <cstdint>
#include <vector>

#include "filtration.hpp"

namespace cuph {

enum class Construction : int { V = 0, T = 1 };

using Cell = uint64_t;  // packed doubled coordinates, `bits` per axis
using Key = uint64_t;
constexpr int kCodeBits = 7;  // 3^4 = 81 offset codes

// One offset of the star {-1,0,1}^D around a generator.
template <int D> struct StarEntry {
  std::array<int8_t, D> off;
  uint8_t code;
  Cell delta;  // packed offset, added modulo 2^64
};

// A set of the 3^D - 1 neighbours of a generator (26 for D = 3, 80 for D = 4).
template <int D> using NeighbourMask = typename std::conditional<(D <= 3), uint32_t, unsigned __int128>::type;

template <int D, Construction C> struct Grid {
  static constexpr int bits = D == 1 ? 48 : 64 / D;
  static constexpr uint64_t mask = (uint64_t(1) << bits) - 1;
  static constexpr bool V = C == Construction::V;

  std::array<int64_t, D> gshape{}, gstride{};  // generator grid (the input item), C order
  std::array<int64_t, D> cshape{}, cstride{};  // cell grid
  std::array<int64_t, D> vshape{}, vstride{};  // vertex grid (0-cells)
  std::array<int64_t, D> tshape{}, tstride{};  // top-cell grid (D-cells)
  int64_t n_gen = 1, n_cell = 1, n_vertex = 1, n_top = 1;
  const uint32_t* rank = nullptr;
  const uint32_t* order = nullptr;
  std::array<std::vector<StarEntry<D>>, D + 1> star;  // star[k]: offsets giving k-cells, by code
  using Mask = NeighbourMask<D>;
  // Neighbour j of a generator: its offset and flat index step; bit j of a Mask.
  std::vector<std::array<int8_t, D>> nb_off;
  std::vector<int64_t> nb_step;
  // required[code]: the other generators of the cell at `code` from a generator; the cell is
  // owned by the generator iff all of them come before it (see before_mask).
  std::array<Mask, 81> required{};
  // Fast key(): per pattern of "generator-varying" axes, the steps to each generator from the
  // low one and the code offset each contributes.
  struct GenStep { int64_t step; int code; };
  std::array<std::vector<GenStep>, 16> gen_steps;
  std::array<std::array<Mask, D>, 2> side{};  // side[0][i]: neighbours at offset -1 on axis i

  Grid(const int64_t* shape, const Ranking& r) : rank(r.rank.data()), order(r.order.data()) {
    for (int i = 0; i < D; ++i) {
      gshape[i] = shape[i];
      cshape[i] = V ? 2 * shape[i] - 1 : 2 * shape[i] + 1;
      vshape[i] = V ? shape[i] : shape[i] + 1;
      tshape[i] = V ? shape[i] - 1 : shape[i];
    }
    n_gen = strides_of(gshape, gstride);
    n_cell = strides_of(cshape, cstride);
    n_vertex = strides_of(vshape, vstride);
    n_top = strides_of(tshape, tstride);
    int n_codes = 1;
    for (int i = 0; i < D; ++i) n_codes *= 3;
    for (int code = 0; code < n_codes; ++code) {
      StarEntry<D> e{};
      e.code = uint8_t(code);
      int c = code, nonzero = 0;
      for (int i = 0; i < D; ++i) {
        e.off[i] = int8_t(c % 3 - 1);
        c /= 3;
        nonzero += e.off[i] != 0;
      }
      e.delta = 0;
      for (int i = 0; i < D; ++i) e.delta += Cell(int64_t(e.off[i])) << (i * bits);
      // V: the generator is a vertex, each nonzero offset opens an interval.
      // T: the generator is a top cell, each nonzero offset closes one.
      star[V ? nonzero : D - nonzero].push_back(e);
      if (nonzero) {
        for (int i = 0; i < D; ++i) {
          if (e.off[i] < 0) side[0][size_t(i)] |= Mask(1) << nb_off.size();
          if (e.off[i] > 0) side[1][size_t(i)] |= Mask(1) << nb_off.size();
        }
        nb_off.push_back(e.off);
        int64_t step = 0;
        for (int i = 0; i < D; ++i) step += e.off[i] * gstride[i];
        nb_step.push_back(step);
      }
    }
    // The other generators of the cell g + off are g + o with o_i in {0, off_i}, o != 0.
    for (int code = 0; code < n_codes; ++code) {
      int off[D], c = code;
      for (int i = 0; i < D; ++i) { off[i] = c % 3 - 1; c /= 3; }
      Mask m = 0;
      for (size_t j = 0; j < nb_off.size(); ++j) {
        bool sub = true;
        for (int i = 0; i < D; ++i) sub &= nb_off[j][i] == 0 || nb_off[j][i] == off[i];
        if (sub) m |= Mask(1) << j;
      }
      required[size_t(code)] = m;
    }
    for (unsigned pat = 0; pat < (1u << D); ++pat) {
      for (unsigned sub = 0; sub < (1u << D); ++sub) {
        if (sub & ~pat) continue;
        GenStep gs{0, 0};
        int pw = 1;
        for (int i = 0; i < D; ++i, pw *= 3) {
          int o = 0;  // offset of the cell from this generator
          if (pat >> i & 1) {
            if (sub >> i & 1) { gs.step += gstride[i]; o = -1; } else { o = 1; }
          }
          gs.code += (o + 1) * pw;
        }
        gen_steps[pat].push_back(gs);
      }
    }
  }

  // The neighbours needed to decide ownership of the star cells of the given dimensions.
  std::vector<int> neighbours_for(std::initializer_list<int> dims) const {
    Mask need = 0;
    for (int k : dims)
      for (const auto& e : star[size_t(k)]) need |= required[e.code];
    std::vector<int> list;
    for (size_t j = 0; j < nb_step.size(); ++j)
      if ((need >> j) & 1) list.push_back(int(j));
    return list;
  }

  // The neighbours (among `list`) of generator g (rank r, cell gc) that come before it in the
  // filtration: lower rank for V; for T higher rank or outside the grid (a missing top cell
  // never owns anything).
  Mask before_mask(int64_t g, Cell gc, uint64_t r, const std::vector<int>& list) const {
    Mask outside = 0;
    for (int i = 0; i < D; ++i) {
      const int64_t x = coord(gc, i);
      if (x < 2) outside |= side[0][i];
      if (x + 2 >= cshape[i]) outside |= side[1][i];
    }
    Mask m = 0;
    for (int j : list) {
      const Mask bit = Mask(1) << j;
      if (outside & bit) {
        if (!V) m |= bit;
        continue;
      }
      const uint32_t rk = rank[g + nb_step[size_t(j)]];
      if (V ? rk < r : rk > r) m |= bit;
    }
    return m;
  }
  bool owns(Mask before, const StarEntry<D>& e) const { return (required[e.code] & ~before) == 0; }

  static int64_t strides_of(const std::array<int64_t, D>& shape, std::array<int64_t, D>& stride) {
    int64_t n = 1;
    for (int i = D - 1; i >= 0; --i) {
      stride[i] = n;
      n *= shape[i];
    }
    return n;
  }

  static constexpr int64_t coord(Cell c, int i) { return int64_t((c >> (i * bits)) & mask); }
  static constexpr Cell unit(int i) { return Cell(1) << (i * bits); }
  static constexpr bool odd(Cell c, int i) { return (c >> (i * bits)) & 1; }
  static int dim_of(Cell c) {
    int k = 0;
    for (int i = 0; i < D; ++i) k += odd(c, i);
    return k;
  }

  Cell gen_cell(int64_t g) const {
    Cell c = 0;
    for (int i = D - 1; i >= 0; --i) {
      int64_t x = g % gshape[i];
      g /= gshape[i];
      c |= Cell(V ? 2 * x : 2 * x + 1) << (i * bits);
    }
    return c;
  }
  int64_t gen_index(Cell c) const {
    int64_t g = 0;
    for (int i = 0; i < D; ++i) g += (V ? coord(c, i) / 2 : (coord(c, i) - 1) / 2) * gstride[i];
    return g;
  }
  int64_t vertex_index(Cell c) const {
    int64_t g = 0;
    for (int i = 0; i < D; ++i) g += (coord(c, i) / 2) * vstride[i];
    return g;
  }
  int64_t top_index(Cell c) const {
    int64_t g = 0;
    for (int i = 0; i < D; ++i) g += ((coord(c, i) - 1) / 2) * tstride[i];
    return g;
  }
  int64_t cell_index(Cell c) const {
    int64_t g = 0;
    for (int i = 0; i < D; ++i) g += coord(c, i) * cstride[i];
    return g;
  }

  // Key of any cell: scan its generators for the owner (max rank for V, min for T).
  Key key(Cell c) const {
    unsigned pat = 0;
    int64_t base = 0;
    bool interior = true;
    for (int i = 0; i < D; ++i) {
      const int64_t x = coord(c, i);
      if (V) {
        pat |= unsigned(x & 1) << i;
        base += (x >> 1) * gstride[i];
      } else if (x & 1) {
        base += (x >> 1) * gstride[i];
      } else {
        pat |= 1u << i;
        base += ((x >> 1) - 1) * gstride[i];
        interior &= x > 0 && x < cshape[i] - 1;
      }
    }
    if (!interior) return key_slow(c);
    const auto& steps = gen_steps[pat];
    uint32_t best = rank[base + steps[0].step];
    int code = steps[0].code;
    for (size_t j = 1; j < steps.size(); ++j) {
      const uint32_t rk = rank[base + steps[j].step];
      if (V ? rk > best : rk < best) { best = rk; code = steps[j].code; }
    }
    return (Key(best) << kCodeBits) | Key(code);
  }
  Key key_slow(Cell c) const {
    int axes[D];
    int p = 0;
    int64_t base = 0;
    for (int i = 0; i < D; ++i) {
      int64_t x = coord(c, i);
      if (V) {
        if (x & 1) axes[p++] = i;
        base += (x / 2) * gstride[i];  // low generator on odd axes
      } else {
        if (!(x & 1)) axes[p++] = i;
        base += ((x & 1) ? (x - 1) / 2 : x / 2 - 1) * gstride[i];  // low = x-1 on even axes
      }
    }
    uint32_t best = V ? 0u : ~0u;
    unsigned best_mask = 0;
    for (unsigned m = 0; m < (1u << p); ++m) {
      int64_t g = base;
      bool ok = true;
      for (int j = 0; j < p; ++j) {
        const int i = axes[j];
        const bool high = (m >> j) & 1;
        if (!V) {
          const int64_t x = coord(c, i);
          if (high ? x + 1 > cshape[i] - 2 : x - 1 < 1) { ok = false; break; }
        }
        if (high) g += gstride[i];
      }
      if (!ok) continue;
      const uint32_t rk = rank[g];
      if (V ? rk >= best : rk <= best) { best = rk; best_mask = m; }
    }
    // Offset of c from its owner: +1 where the owner is the low neighbour, -1 for high.
    int code = 0, pw = 1, j = 0;
    for (int i = 0; i < D; ++i, pw *= 3) {
      int o = 0;
      if (j < p && axes[j] == i) { o = ((best_mask >> j) & 1) ? -1 : 1; ++j; }
      code += (o + 1) * pw;
    }
    return (Key(best) << kCodeBits) | Key(code);
  }

  // The cell with a given key (inverse of key()).
  Cell cell_of(Key k) const {
    Cell g = gen_cell(order[k >> kCodeBits]);
    int code = int(k & ((1u << kCodeBits) - 1));
    for (int i = 0; i < D; ++i, code /= 3) {
      int o = code % 3 - 1;
      if (o > 0) g += unit(i);
      else if (o < 0) g -= unit(i);
    }
    return g;
  }

  template <class F> void for_each_facet(Cell c, F&& f) const {
    for (int i = 0; i < D; ++i)
      if (odd(c, i)) { f(c - unit(i)); f(c + unit(i)); }
  }
  template <class F> void for_each_coface(Cell c, F&& f) const {
    for (int i = 0; i < D; ++i) {
      if (odd(c, i)) continue;
      const int64_t x = coord(c, i);
      if (x > 0) f(c - unit(i));
      if (x + 1 < cshape[i]) f(c + unit(i));
    }
  }
};

}  // namespace cuph
