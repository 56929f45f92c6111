// Sublevel persistence of a function on the vertices of a graph (the graph as a 1-complex, an
// edge entering at the larger of its endpoint values): dimension 0 by union-find with the elder
// rule, dimension 1 (cycles; a graph has no 2-cells, so they never die) read off the edges that
// close a cycle.
//
// Vertices are ranked once by (value, index). An edge is then the pair (rank of its higher
// endpoint, rank of its lower endpoint); sorting edges by the higher rank (stably, so ties keep
// the input order) and joining components in that order is Kruskal's algorithm on the vertex
// order. A component's root is its oldest vertex (smallest rank), so the elder rule is simply
// "the larger root dies", and the edge's higher endpoint is the saddle that kills it.
#pragma once
#include <algorithm>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "array_view.hpp"
#include "cancel.hpp"
#include "diagram.hpp"
#include "filtration.hpp"
#include "persistence.hpp"
#include "threads.hpp"
#include "union_find.hpp"

namespace cuph {

// An (m, 2) array of int32 or int64 vertex indices, any byte strides.
struct EdgeView {
  const char* base = nullptr;
  int64_t m = 0;
  int64_t row_stride = 0, col_stride = 0;
  bool wide = true;  // int64 (true) or int32 (false)
  int64_t at(int64_t row, int col) const {
    const char* p = base + row * row_stride + col * col_stride;
    return wide ? load<int64_t>(p) : int64_t(load<int32_t>(p));
  }
};

// Thrown for the first edge (lowest row) with an endpoint outside [0, n).
struct EdgeOutOfRange : std::out_of_range {
  int64_t row, vertex;
  EdgeOutOfRange(int64_t r, int64_t v)
      : std::out_of_range("edge endpoint out of range"), row(r), vertex(v) {}
};

// The largest graph: ranks are 32-bit, with room for the padding and the self-loop sentinel.
constexpr int64_t kMaxGraphVertices = int64_t(kBorderRank) - 4;

// Pairs of dimensions 0..maxdim (maxdim 0 or 1) of the sublevel (superlevel: of -values)
// filtration. `values` is a 1-D view; birth/death indices are vertex indices. Self-loops are
// ignored (a vertex is already present when its loop would enter). Returns the pairs as vertex
// indices (index_pairs); assemble_pairs gives them their values.
inline ItemPairs graph_persistence(const ItemView& values, const EdgeView& edges, int maxdim,
                                   bool superlevel, bool keep_diagonal, int threads,
                                   CancelToken& cancel) {
  if (values.ndim != 1) throw std::invalid_argument("cuph: graph values must be a 1-D view");
  if (maxdim < 0 || maxdim > 1) throw std::invalid_argument("cuph: graph maxdim must be 0 or 1");
  const int64_t n = values.size();
  if (n > kMaxGraphVertices) throw std::length_error("too many vertices (at most 2^32 - 5)");

  UninitVector<uint64_t> keys;
  const KeyRange range = load_item_keys(values, superlevel, keys, threads);
  cancel.check();
  const PaddedShape<1> pad(&n);  // rank[v + 1], order[r] = v + 1: the cubical engine's ranking
  const Ranking ranking = rank_keys<1>(keys, range, pad, threads);
  cancel.check();

  const uint32_t loop = uint32_t(n);  // self-loops sort after every real edge
  std::vector<uint32_t> hi(size_t(edges.m)), lo(size_t(edges.m));
  parallel_ranges(edges.m, threads, [&](int64_t b, int64_t e, int) {
    CancelToken tc = cancel.fork();
    const uint32_t* rank = ranking.rank.data() + 1;
    for (int64_t i = b; i < e; ++i) {
      tc.poll();
      const int64_t u = edges.at(i, 0), v = edges.at(i, 1);
      if (u < 0 || u >= n) throw EdgeOutOfRange(i, u);
      if (v < 0 || v >= n) throw EdgeOutOfRange(i, v);
      const uint32_t ru = rank[u], rv = rank[v];
      hi[size_t(i)] = u == v ? loop : std::max(ru, rv);
      lo[size_t(i)] = std::min(ru, rv);
    }
  });
  radix_sort(hi, lo, threads);
  cancel.check();

  std::unique_ptr<uint32_t[]> parent(new uint32_t[size_t(n)]);
  for (int64_t r = 0; r < n; ++r) parent[size_t(r)] = uint32_t(r);
  ItemPairs res;
  for (size_t i = 0; i < hi.size() && hi[i] != loop; ++i) {
    cancel.poll();
    const uint32_t a = find_root(parent.get(), lo[i], size_t(n)), b = find_root(parent.get(), hi[i], size_t(n));
    if (a == b) {
      if (maxdim >= 1) res.dim[1].push_back({hi[i], kEssential});
      continue;
    }
    const uint32_t young = std::max(a, b);
    parent[young] = std::min(a, b);
    // A vertex joining through its own edge is a zero-length pair: skip it early (memory).
    if (keep_diagonal || young != hi[i]) res.dim[0].push_back({young, hi[i]});
  }
  hi = std::vector<uint32_t>();
  lo = std::vector<uint32_t>();
  for (int64_t r = 0; r < n; ++r)
    if (parent[size_t(r)] == uint32_t(r)) res.dim[0].push_back({uint32_t(r), kEssential});
  parent.reset();

  index_pairs(res, [&](uint64_t k) { return int64_t(ranking.order[size_t(k)]) - 1; }, values,
              maxdim, keep_diagonal);
  return res;
}

}  // namespace cuph
