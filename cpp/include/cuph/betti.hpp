// Betti numbers of the sublevel complex K_eta = {cells with value <= eta} at one threshold per
// item, without computing a persistence diagram. Profiling networks asks for exactly this for
// thousands of small activation tensors, and the full diagram (sort, reduction, pairs) costs
// about 20 times more than the three linear sweeps below (bench/betti_threshold.py).
//
// With S = {generators with value <= eta}:
//  * beta_0: components of S, adjacent along axes (V: vertices share an edge) or through a
//    shared vertex (T: closed top cubes touch);
//  * beta_{D-1} (D >= 2), by Alexander duality: components of R^D \ K_eta, minus one. They are
//    the components of the generators not in S under the other adjacency (V: 3^D - 1, since an
//    open cell missing from K has a vertex not in S and any two of its vertices lie on a common
//    cube; T: through facets), plus the outside of the box, joined to every such generator on
//    the box boundary;
//  * beta_1 for D = 3 from the Euler characteristic: beta_1 = beta_0 + beta_2 - chi. chi is a
//    sum over vertices of a table indexed by the 2^D-bit mask of S around the vertex, where
//    each vertex counts the cells anchored at it (their lowest corner).
// Everything is read from a byte label per generator in a grid padded by one on each side, so
// neighbours and masks never need bounds checks.
#pragma once
#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "array_view.hpp"
#include "batch.hpp"
#include "cancel.hpp"
#include "grid.hpp"

namespace cuph {

namespace betti_detail {

constexpr int popcount(int v) { return v ? (v & 1) + popcount(v >> 1) : 0; }

// chi of the cells anchored at one vertex, for every mask of S on the 2^D corners around it.
// Bit e of the mask is the generator at offset e (bit j of e: +1 on axis D-1-j). V: the cube
// anchored at the vertex, and the cell spanning axes A is in K iff all its corners are in S.
// T: the top cubes around the vertex (bit 1 = the cube on the + side), and the cell spanning A
// is in K iff some cube containing it (those on the + side along A) is in S.
template <int D, Construction C> constexpr std::array<int8_t, (1 << (1 << D))> euler_table() {
  constexpr int corners = 1 << D;
  std::array<int8_t, (1 << corners)> table{};
  for (int m = 0; m < (1 << corners); ++m) {
    int chi = 0;
    for (int a = 0; a < corners; ++a) {
      bool in = C == Construction::V;
      for (int e = 0; e < corners; ++e) {
        const bool bit = (m >> e) & 1;
        if (C == Construction::V && (e & ~a) == 0 && !bit) in = false;
        if (C == Construction::T && (e & a) == a && bit) in = true;
      }
      if (in) chi += (popcount(a) & 1) ? -1 : 1;
    }
    table[size_t(m)] = int8_t(chi);
  }
  return table;
}

inline uint32_t find(uint32_t* parent, uint32_t x) {
  while (parent[x] != x) {
    parent[x] = parent[parent[x]];  // path halving
    x = parent[x];
  }
  return x;
}

// The lexicographically positive half of the 3^D - 1 neighbour offsets, and for every set of
// them (bit j: offset j) one representative per cluster of mutually adjacent offsets.
template <int D> struct FullHalf {
  static constexpr int n = ((D == 1 ? 3 : D == 2 ? 9 : 27) - 1) / 2;
  std::array<std::array<int, D>, n> delta{};
  std::vector<uint16_t> representatives;

  static const FullHalf& get() {
    static const FullHalf h;
    return h;
  }

 private:
  FullHalf() : representatives(size_t(1) << n) {
    int j = 0;
    for (int code = 0; code < (D == 1 ? 3 : D == 2 ? 9 : 27); ++code) {
      std::array<int, D> d{};
      for (int i = D - 1, c = code; i >= 0; --i, c /= 3) d[size_t(i)] = c % 3 - 1;
      int first = 0;  // the sign of the outermost non-zero component
      for (int i = 0; i < D && !first; ++i) first = d[size_t(i)];
      if (first > 0) delta[size_t(j++)] = d;
    }
    // The previous cell on the row first: it then always represents its cluster, and the
    // kernel knows its root without a find.
    std::array<int, D> prev{};
    prev[size_t(D - 1)] = 1;
    for (int a = 0; a < n; ++a)
      if (delta[size_t(a)] == prev) std::swap(delta[size_t(a)], delta[0]);
    for (size_t m = 0; m < representatives.size(); ++m) {
      int comp[n];
      for (int a = 0; a < n; ++a) comp[a] = a;
      for (int a = 0; a < n; ++a)
        for (int b = a + 1; b < n; ++b) {
          if (!((m >> a) & 1) || !((m >> b) & 1) || !adjacent(delta[size_t(a)], delta[size_t(b)])) continue;
          int ra = a, rb = b;
          while (comp[ra] != ra) ra = comp[ra];
          while (comp[rb] != rb) rb = comp[rb];
          if (ra != rb) comp[std::max(ra, rb)] = std::min(ra, rb);
        }
      uint16_t keep = 0;
      for (int a = 0; a < n; ++a)
        if (((m >> a) & 1) && comp[a] == a) keep = uint16_t(keep | (1u << a));
      representatives[m] = keep;
    }
  }
  static bool adjacent(const std::array<int, D>& a, const std::array<int, D>& b) {
    for (int i = 0; i < D; ++i)
      if (a[size_t(i)] - b[size_t(i)] > 1 || b[size_t(i)] - a[size_t(i)] > 1) return false;
    return true;
  }
};

// For the D earlier face neighbours (j: one step back along axis D-1-j) and the diagonals
// between two of them (pair t, in the order of FaceHalf::pairs), the face neighbours to join for
// each mask (bits 0..D-1: face neighbours in the class, bits D..: diagonals in the class). Two
// face neighbours whose diagonal is in the class were both joined to it earlier, so they are
// already connected and one join covers both: in smooth regions no find is needed at all.
template <int D> struct FaceHalf {
  static constexpr int n_pairs = D * (D - 1) / 2;
  std::array<std::array<int, 2>, (n_pairs > 0 ? n_pairs : 1)> pairs{};
  std::vector<uint8_t> representatives;

  static const FaceHalf& get() {
    static const FaceHalf h;
    return h;
  }

 private:
  FaceHalf() : representatives(size_t(1) << (D + n_pairs)) {
    int t = 0;
    for (int a = 0; a < D; ++a)
      for (int b = a + 1; b < D; ++b) pairs[size_t(t++)] = {a, b};
    for (size_t m = 0; m < representatives.size(); ++m) {
      int comp[D];
      for (int a = 0; a < D; ++a) comp[a] = a;
      for (int u = 0; u < n_pairs; ++u) {
        const int a = pairs[size_t(u)][0], b = pairs[size_t(u)][1];
        if (!((m >> a) & 1) || !((m >> b) & 1) || !((m >> (D + u)) & 1)) continue;
        int ra = a, rb = b;
        while (comp[ra] != ra) ra = comp[ra];
        while (comp[rb] != rb) rb = comp[rb];
        if (ra != rb) comp[std::max(ra, rb)] = std::min(ra, rb);
      }
      uint8_t keep = 0;
      for (int a = 0; a < D; ++a)
        if (((m >> a) & 1) && comp[a] == a) keep = uint8_t(keep | (1u << a));
      representatives[m] = keep;
    }
  }
};

}  // namespace betti_detail

// The kernel for D-dimensional items (1 <= D <= 3) of one construction. Holds the per-thread
// scratch (labels and forest), reused across items so small items cost no allocation.
template <int D, Construction C> class BettiKernel {
  static_assert(D >= 1 && D <= 3, "Betti numbers at a threshold: 1- to 3-D items");
  static constexpr bool V = C == Construction::V;
  static constexpr int kFace = D, kFull = (D == 1 ? 2 : D == 2 ? 8 : 26) / 2;

 public:
  // beta_0..beta_{D-1} of item v's sublevel complex at eta into out[0..D-1]. Throws NanError.
  void operator()(const ItemView& v, double eta, int64_t* out, CancelToken& cancel) {
    int64_t n[D], ps[D];  // item shape, padded strides
    int64_t padded = 1;
    for (int i = D - 1; i >= 0; --i) {
      n[i] = v.shape[i];
      ps[i] = padded;
      padded *= n[i] + 2;
    }
    if (padded > int64_t(UINT32_MAX))
      throw std::length_error("cuph: item too large (at most 2^32 - 2 cells, padding included)");
    lab_.assign(size_t(padded), 0);
    parent_.resize(size_t(padded));
    uint8_t* lab = lab_.data();
    uint32_t* parent = parent_.data();
    const uint32_t outside = 0;  // a padding cell, the smallest index: roots gather there
    parent[outside] = outside;

    const int64_t total = v.size();
    const int64_t n_in = fill_labels(v, eta, n, ps, lab, parent);
    for (int k = 0; k < D; ++k) out[k] = 0;
    if (n_in == 0) return;          // empty complex
    if (n_in == total) {            // the whole box: contractible
      out[0] = 1;
      return;
    }

    // One half of each adjacency, as positive padded offsets, scanned backwards: p joins the
    // groups of its earlier neighbours. Two earlier neighbours adjacent to each other were
    // joined when the later one was visited, so the table keeps one of each such cluster.
    const auto& half = betti_detail::FullHalf<D>::get();
    int64_t face[kFace], full[kFull];
    for (int i = 0; i < D; ++i) face[i] = ps[D - 1 - i];  // the previous cell on the row first
    for (int j = 0; j < kFull; ++j) {
      full[j] = 0;
      for (int i = 0; i < D; ++i) full[j] += half.delta[size_t(j)][size_t(i)] * ps[i];
    }
    const uint16_t* clusters = half.representatives.data();
    const auto& face_half = betti_detail::FaceHalf<D>::get();
    constexpr int kPairs = betti_detail::FaceHalf<D>::n_pairs;
    int64_t diag[kPairs > 0 ? kPairs : 1];
    for (int t = 0; t < kPairs; ++t)
      diag[t] = face[face_half.pairs[size_t(t)][0]] + face[face_half.pairs[size_t(t)][1]];
    const uint8_t* face_clusters = face_half.representatives.data();

    int64_t merged[3] = {0, 0, 0};  // by label: 1 in S, 2 not in S
    for_rows(n, ps, 1, [&](int64_t row, bool row_on_boundary) {
      cancel.poll();
      const int64_t len = n[D - 1];
      uint32_t prev_root = 0;  // the root of the previous cell on the row, when it was visited
      for (int64_t k = 0; k < len; ++k) {
        const uint32_t p = uint32_t(row + k);
        const uint8_t cls = lab[p];
        if (D == 1 && cls == 2) continue;  // 1-D: no beta_{D-1} beyond beta_0
        unsigned bits = 0;
        const int64_t* adj;
        if ((cls == 1) == V) {
          for (int j = 0; j < kFace; ++j) bits |= unsigned(lab[p - face[j]] == cls) << j;
          for (int t = 0; t < kPairs; ++t) bits |= unsigned(lab[p - diag[t]] == cls) << (kFace + t);
          bits = face_clusters[bits];
          adj = face;
        } else {
          for (int j = 0; j < kFull; ++j) bits |= unsigned(lab[p - full[j]] == cls) << j;
          bits = clusters[bits];
          adj = full;
        }
        uint32_t root = p;  // nothing earlier has been joined to p yet
        int64_t joins = 0;
        if (bits & 1) {  // the previous cell (bit 0, never dropped): its root is still prev_root
          root = parent[p] = prev_root;
          joins = 1;
          bits &= bits - 1;
        }
        auto join = [&](uint32_t q) {
          const uint32_t r = betti_detail::find(parent, q);
          if (r == root) return;
          ++joins;
          if (r < root) {  // union by index
            parent[root] = r;
            root = r;
          } else {
            parent[r] = root;
          }
        };
        for (; bits; bits &= bits - 1) join(uint32_t(p - adj[__builtin_ctz(bits)]));
        if (cls == 2 && (row_on_boundary || k == 0 || k == len - 1)) join(outside);
        merged[cls] += joins;
        prev_root = root;
      }
    });
    const int64_t merged_in = merged[1], merged_out = merged[2];
    out[0] = n_in - merged_in;
    if (D == 1) return;
    const int64_t regions = (total - n_in + 1) - merged_out;  // the outside included
    out[D - 1] = regions - 1;
    if constexpr (D == 3) out[1] = out[0] + out[2] - euler(n, ps, lab, cancel);
  }

 private:
  static constexpr int pow3() { return D == 1 ? 3 : D == 2 ? 9 : 27; }

  // Calls f(padded index of the row's first cell, whether the row lies on the box boundary)
  // for every row along the last axis of a grid of `extent[i] + extra` cells per axis, where
  // rows start at padded coordinate 1 (extra = 0, the item's cells) or 0 (extra = 1, the
  // vertices of T cubes).
  template <class F> static void for_rows(const int64_t* n, const int64_t* ps, int first, F&& f) {
    const int extra = 1 - first;
    int64_t idx[D > 1 ? D - 1 : 1] = {};
    int64_t rows = 1;
    for (int i = 0; i < D - 1; ++i) rows *= n[i] + extra;
    for (int64_t r = 0; r < rows; ++r) {
      int64_t base = first * ps[D - 1];
      bool boundary = false;
      for (int i = 0; i < D - 1; ++i) {
        base += (idx[i] + first) * ps[i];
        boundary |= idx[i] == 0 || idx[i] == n[i] + extra - 1;
      }
      f(base, boundary);
      for (int i = D - 2; i >= 0; --i) {
        if (++idx[i] < n[i] + extra) break;
        idx[i] = 0;
      }
    }
  }

  // Labels every cell (1: value <= eta, 2: above) and makes it a root; returns how many are in
  // S. Comparing in double is what the diagram path does with its float64 births.
  static int64_t fill_labels(const ItemView& v, double eta, const int64_t* n, const int64_t* ps,
                             uint8_t* lab, uint32_t* parent) {
    int64_t n_in = 0, flat = 0;
    dispatch_dtype(v.dtype, [&](auto tag) {
      using T = decltype(tag);
      const int64_t len = n[D - 1], stride = v.strides[D - 1];
      int64_t idx[D > 1 ? D - 1 : 1] = {};
      for_rows(n, ps, 1, [&](int64_t row, bool) {
        const char* src = v.base;
        for (int i = 0; i < D - 1; ++i) src += idx[i] * v.strides[i];
        for (int64_t k = 0; k < len; ++k, ++flat) {
          const T x = load<T>(src + k * stride);
          if (Sortable<T>::is_nan(x)) throw NanError(flat);
          const bool in = to_double(x) <= eta;
          lab[row + k] = uint8_t(2 - in);
          parent[row + k] = uint32_t(row + k);
          n_in += in;
        }
        for (int i = D - 2; i >= 0; --i) {
          if (++idx[i] < n[i]) break;
          idx[i] = 0;
        }
      });
    });
    return n_in;
  }

  // chi(K_eta): every vertex of the complex adds the table entry of its neighbourhood mask.
  static int64_t euler(const int64_t* n, const int64_t* ps, const uint8_t* lab, CancelToken& cancel) {
    static constexpr std::array<int8_t, (1 << (1 << D))> table = betti_detail::euler_table<D, C>();
    int64_t corner[1 << D];
    for (int e = 0; e < (1 << D); ++e) {
      corner[e] = 0;
      for (int j = 0; j < D; ++j) corner[e] += ((e >> j) & 1) * ps[D - 1 - j];
    }
    // V: vertices are the cells themselves (padded 1..n); T: the (n+1)^D vertices of the
    // cubes, whose - side cubes sit at padded 0..n.
    const int first = V ? 1 : 0;
    const int64_t len = n[D - 1] + 1 - first;
    int64_t chi = 0;
    for_rows(n, ps, first, [&](int64_t row, bool) {
      cancel.poll();
      for (int64_t k = 0; k < len; ++k) {
        const uint8_t* at = lab + row + k;
        unsigned mask = 0;
        for (int e = 0; e < (1 << D); ++e) mask |= unsigned(at[corner[e]] & 1) << e;
        chi += table[mask];
      }
    });
    return chi;
  }

  std::vector<uint8_t> lab_;     // padded grid: 0 padding, 1 in S, 2 not in S
  std::vector<uint32_t> parent_;  // one forest for S and its complement; node 0: outside
};

namespace betti_detail {

// Runs the kernel over all items on `n_threads` threads; the failing item with the lowest
// index is rethrown as an ItemError (as compute_batch does), so messages are deterministic.
template <int D, Construction C>
void run_items(const BatchView& batch, const double* eta, int n_threads,
               const std::atomic<bool>* cancel_flag, int64_t* out, int out_stride) {
  const FirstFailure failure = for_each_item(batch.n_items(), n_threads, cancel_flag, [&]() {
    return [&, kernel = BettiKernel<D, C>()](int64_t i, CancelToken& cancel) mutable {
      kernel(batch.at(i), eta[i], out + i * out_stride, cancel);
    };
  });
  if (failure.error) throw ItemError{failure.item, failure.error};
}

}  // namespace betti_detail

// Betti numbers beta_0..beta_{d-1} of every item's sublevel complex at eta[item] (flat batch
// order) into out[item * d + k], d = batch.item.ndim in 1..3.
inline void betti_batch(const BatchView& batch, const double* eta, Construction construction,
                        int n_threads, const std::atomic<bool>* cancel_flag, int64_t* out) {
  const int d = batch.item.ndim;
  if (d < 1 || d > 3) throw std::invalid_argument("cuph: Betti numbers at a threshold need 1- to 3-D items");
  // An axis of length 1 changes nothing (V: no cell spans it; T: K is K' x [0, 1]), and items
  // like 512x1x1 are common: the kernel runs on the other axes, the higher Betti numbers are 0.
  // C-order flat indices (NaN positions) are the same without those axes.
  BatchView b = batch;
  int nd = 0;
  for (int i = 0; i < d; ++i)
    if (batch.item.shape[i] != 1) {
      b.item.shape[nd] = batch.item.shape[i];
      b.item.strides[nd++] = batch.item.strides[i];
    }
  if (nd == 0) {
    b.item.shape[0] = 1;
    b.item.strides[0] = 0;
    nd = 1;
  }
  b.item.ndim = nd;
  std::fill(out, out + b.n_items() * d, int64_t(0));
  const bool v = construction == Construction::V;
  using betti_detail::run_items;
  if (nd == 1)
    return v ? run_items<1, Construction::V>(b, eta, n_threads, cancel_flag, out, d)
             : run_items<1, Construction::T>(b, eta, n_threads, cancel_flag, out, d);
  if (nd == 2)
    return v ? run_items<2, Construction::V>(b, eta, n_threads, cancel_flag, out, d)
             : run_items<2, Construction::T>(b, eta, n_threads, cancel_flag, out, d);
  return v ? run_items<3, Construction::V>(b, eta, n_threads, cancel_flag, out, d)
           : run_items<3, Construction::T>(b, eta, n_threads, cancel_flag, out, d);
}

}  // namespace cuph
