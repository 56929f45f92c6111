// One entry point: a strided item view -> raw pairs of dimensions 0..maxdim, dispatching the
// item's dimension and construction to the templated algorithms.
#pragma once
#include <atomic>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>

#include "check.hpp"
#include "diagram.hpp"
#include "grid.hpp"
#include "rectangle.hpp"
#include "reduction.hpp"
#include "union_find.hpp"

namespace cuph {

// Test switch: the reductions keep the rows of cells known to create a class (and look for
// the births of zero-length pairs below D-2 whatever the count), and check that none is a
// pivot, instead of dropping them.
inline std::atomic<bool>& verify_positive_rows() {
  static std::atomic<bool> on{false};
  return on;
}

struct Options {
  int maxdim = -1;  // -1: all dimensions 0..D-1
  Construction construction = Construction::V;
  bool superlevel = false;
  bool keep_values = false;  // the pairs' values into ItemPairs (index_pairs)
};

// Raw pairs of one item -> pairs of flat indices into the item (C order; an essential class keeps
// death kEssential), dropping zero-length pairs unless keep_diagonal. Equal values count as zero
// length even from two generators (ties), as in gudhi. With `keep_values`, the pairs' values go
// to res.values (see ItemPairs), else those stay empty.
template <class FlatOf>
void index_pairs(ItemPairs& res, FlatOf flat_of, const ItemView& item, int maxdim,
                 bool keep_diagonal, bool keep_values = false) {
  auto run = [&](auto tag, auto* kind) {
    using Kept = std::remove_pointer_t<decltype(kind)>;
    const ValueReader<decltype(tag)> value(item);
    for (int k = 0; k <= maxdim; ++k) {
      PairList& pairs = res.dim[k];
      ValueList<Kept>& values = res.values<Kept>(k);
      values.resize(keep_values ? 2 * pairs.size() : 0);
      size_t kept = 0;
      for (const RawPair& p : pairs) {
        if (!keep_diagonal && p.birth == p.death) continue;  // same generator: same value
        const uint32_t bi = uint32_t(flat_of(p.birth));
        const double b = value(int64_t(bi));
        uint32_t di = kEssential;
        double d = 0;
        if (p.death != kEssential) {
          di = uint32_t(flat_of(p.death));
          d = value(int64_t(di));
          if (!keep_diagonal && d == b) continue;
        }
        if (keep_values) {
          values[2 * kept] = Kept(b);
          values[2 * kept + 1] = Kept(d);
        }
        pairs[kept++] = {bi, di};
      }
      pairs.resize(kept);
      values.resize(keep_values ? 2 * kept : 0);
    }
  };
  dispatch_dtype(item.dtype, [&](auto tag) {
    if (exact_in_float(item.dtype)) run(tag, static_cast<float*>(nullptr));
    else run(tag, static_cast<double*>(nullptr));
  });
}

// Where write_pairs puts one item's pairs: the first row of each column (item may be null).
template <class Value> struct PairColumns {
  int8_t* dim;
  Value *birth, *death;
  int64_t *birth_index, *death_index, *item;
};

// The pairs of one item (after index_pairs), dims in order, with their values read from the item.
// Essential classes die at +inf (-inf for superlevel filtrations) with death_index -1.
template <class Value>
void write_pairs(const ItemPairs& res, const ItemView& item, int maxdim, bool superlevel,
                 int64_t item_id, PairColumns<Value> out) {
  const double never = superlevel ? -std::numeric_limits<double>::infinity()
                                  : std::numeric_limits<double>::infinity();
  dispatch_dtype(item.dtype, [&](auto tag) {
    const ValueReader<decltype(tag)> value(item);
    size_t row = 0;
    for (int k = 0; k <= maxdim; ++k) {
      const PairList& pairs = res.dim[k];
      const ValueList<Value>& values = res.values<Value>(k);
      const Value* kept = values.size() == 2 * pairs.size() && !pairs.empty() ? values.data()
                                                                              : nullptr;
      for (size_t i = 0; i < pairs.size(); ++i) {
        const RawPair& p = pairs[i];
        const bool essential = p.death == kEssential;
        out.dim[row] = int8_t(k);
        out.birth[row] = kept ? kept[2 * i] : Value(value(int64_t(p.birth)));
        out.death[row] = essential ? Value(never)
                         : kept    ? kept[2 * i + 1]
                                   : Value(value(int64_t(p.death)));
        out.birth_index[row] = int64_t(p.birth);
        out.death_index[row] = essential ? -1 : int64_t(p.death);
        if (out.item) out.item[row] = item_id;
        ++row;
      }
    }
  });
}

// 2-D items take the pixel sweep of rectangle.hpp, unless zero-length pairs are wanted (it has
// none: a pixel's own cells never form a node).
template <int D> constexpr bool use_rectangle(bool keep_diagonal) {
  return D == 2 && !keep_diagonal;
}

// Items without middle dimensions whose values span < 2^32 keys skip the sort entirely: both
// union-find passes compare packed (value, index) keys. Otherwise values are ranked once and
// every algorithm compares ranks.
template <int D, Construction C>
void compute_item(const ItemView& item, bool superlevel, int maxdim, bool keep_diagonal,
                  bool keep_values, int threads, ItemPairs& res, CancelToken& cancel) {
  const PaddedShape<D> pad(item.shape);
  const bool top = D >= 2 && maxdim >= D - 1;
  UninitVector<uint64_t> own_keys;  // large items; small ones use scratch.hpp's
  std::vector<uint64_t> own_packed;
  UninitVector<uint64_t>& keys = scratch_vector<2>(size_t(item.size()), own_keys);
  if (use_rectangle<D>(keep_diagonal)) {
    // 32-bit values where they fit (every dtype of at most 32 bits), else 64-bit ones: never a
    // sort, except for 64-bit keys spanning their full range (ranked then).
    std::vector<uint32_t> own32;
    std::vector<uint32_t>& v32 = scratch_vector<8>(size_t(pad.size), own32);
    auto run = [&](const auto& values) {
      own_keys = UninitVector<uint64_t>();
      rectangle_passes<C>(pad, values.data(), res.dim[0], top ? &res.dim[1] : nullptr, threads,
                          cancel);
    };
    // 64-bit values: float64 images straight from the input (the packing below would take 32
    // bits only for values within a 2^-32 fraction of each other), else other 8-byte dtypes
    // packed.
    std::vector<uint64_t>& v64 = scratch_vector<3>(size_t(pad.size), own_packed);
    bool loaded = false, loaded64 = false;
    if constexpr (D == 2) {
      loaded = load_pixel_values(item, superlevel, pad, v32, threads);
      loaded64 = !loaded && load_pixel_values(item, superlevel, pad, v64, threads);
    }
    if (loaded) {
      run(v32);
    } else if (loaded64) {
      run(v64);
    } else {
      const KeyRange range = load_item_keys(item, superlevel, keys, threads);
      if (pack_values<D>(keys, range, pad, v32)) {
        run(v32);
      } else if (pack_values<D>(keys, range, pad, v64)) {
        run(v64);
      } else {
        run(rank_keys<D>(keys, range, pad).rank);  // the outside included
      }
    }
    own32 = std::vector<uint32_t>();
    own_packed = std::vector<uint64_t>();
    const uint64_t w = uint64_t(pad.shape[D - 1]);  // padded 2-D index -> flat: one division
    const auto flat_of = [w](uint64_t p) { return int64_t((p / w - 1) * (w - 2) + p % w - 1); };
    index_pairs(res, flat_of, item, maxdim, keep_diagonal, keep_values);
    return;
  }
  const KeyRange range = load_item_keys(item, superlevel, keys, threads);
  std::vector<uint64_t>& packed = scratch_vector<3>(size_t(pad.size), own_packed);
  if (!(D >= 3 && maxdim >= 1) && pack_keys<D>(keys, range, pad, packed)) {
    own_keys = UninitVector<uint64_t>();
    const Grid<D, C> g(item.shape, nullptr, pad);
    union_find_passes(g, packed.data(), keep_diagonal, &res.dim[0], top ? &res.dim[D - 1] : nullptr,
                      nullptr, threads, cancel);
    own_packed = std::vector<uint64_t>();
    index_pairs(res, [](uint32_t j) { return int64_t(j); }, item, maxdim, keep_diagonal,
                keep_values);
    return;
  }
  // Split over threads from 2^20 generators (64x56x56 on 2 threads was 8% slower).
  const Ranking ranking =
      rank_keys<D>(keys, range, pad, keys.size() >= (size_t(1) << 20) ? threads : 1);
  const auto flat_of_rank = [&](uint64_t k) { return pad.unpad(ranking.order[size_t(k)]); };
  const Grid<D, C> g(item.shape, &ranking, pad);
  const uint32_t* rank = ranking.rank.data();
  // Clearing of dimension k needs every death of dimension k-1, so dims are computed in order.
  const bool middle = D >= 3 && maxdim >= 1;
  // The (D-1)-cells that create a class, from the dual pass: rows the reduction of dimension
  // D-2 drops (on 3-D noise, half the entries of its reduced columns).
  std::unique_ptr<Bitset> positive(top && D >= 3 ? new Bitset(g.n_slot_ids(D - 1)) : nullptr);
  // Dimension 1's sweep rides along with the union-find's (its clearing is the primal pass's
  // deaths); its deaths clear dimension 2.
  auto next_cleared = [&](int k) -> Bitset* {
    return k + 1 <= D - 2 && k + 1 <= maxdim ? new Bitset(g.n_cell_ids(k + 1)) : nullptr;
  };
  using Reducer = CoboundaryReducer<D, C>;
  std::unique_ptr<Reducer> reducer(middle ? new Reducer(g, 1, keep_diagonal) : nullptr);
  std::unique_ptr<Bitset> next(middle ? next_cleared(1) : nullptr);
  if (reducer) reducer->start_fused(next.get());
  union_find_passes(g, rank, keep_diagonal, &res.dim[0], top ? &res.dim[D - 1] : nullptr,
                    positive.get(), threads, cancel, reducer.get());
  // Their lists wait through the reduction: without the slack of their last doubling.
  res.dim[0].shrink_to_fit();
  if (top) res.dim[D - 1].shrink_to_fit();
  const bool verify = verify_positive_rows().load(std::memory_order_relaxed);
  std::unique_ptr<Bitset> cleared;
  for (int k = 1; k <= D - 2 && k <= maxdim; ++k) {
    size_t hard;
    if (k == 1) {
      hard = reducer->finish_fused(res.dim[1]);
    } else {
      reducer.reset(new Reducer(g, k, keep_diagonal));
      next.reset(next_cleared(k));
      hard = reducer->sweep(*cleared, next.get(), res.dim[k], threads, cancel);
    }
    cleared.reset();
    // Below D-2, the rows that can be dropped are the (k+1)-cells of pairs of zero length (4-D,
    // dimension 1: most of the 2-cells that create a class; 24^4 V noise -27% time with those
    // of apparent pairs, then -7% with the other local pairs' as well). Finding
    // them is one more sweep, which costs smooth data more than it saves (24^4 V: +25%):
    // it runs when more than an eighth of the generators own a column that is not apparent
    // (noise: 34-40%, smooth: 3-5%), and always under the test switch.
    std::unique_ptr<Bitset> births;
    if (k < D - 2 && (hard + reducer->n_local() > size_t(g.n_gen) / 8 || verify)) {
      births.reset(new Bitset(g.n_slot_ids(k + 1)));
      Reducer(g, k + 1, keep_diagonal).mark_local_births(*births, threads, cancel);
    }
    reducer->reduce(k == D - 2 ? positive.get() : births.get(), verify, next.get(), res.dim[k],
                    cancel, threads);
    reducer.reset();
    cleared = std::move(next);
  }
  positive.reset();
  cleared.reset();
  index_pairs(res, flat_of_rank, item, maxdim, keep_diagonal, keep_values);
}

// Largest supported item: ranks and generator indices are 32-bit (a cell is named by its
// owner's padded index and a code, so no axis has a length limit of its own). The cell count
// is computed with overflow checks first, so absurd shapes (e.g. broadcast views of 200000^3
// elements) are refused before any arithmetic on them can wrap.
inline void check_item_size(int d, const int64_t* shape, Construction c) {
  int64_t n_cells = 1;
  for (int i = 0; i < d; ++i) {
    if (shape[i] < 1) throw std::length_error("cuph: axis " + std::to_string(i) + " is empty");
    n_cells = checked_mul(n_cells, c == Construction::V ? 2 * shape[i] - 1 : 2 * shape[i] + 1,
                          "cuph: the item's cell count");
  }
  long double cells = 1;
  for (int i = 0; i < d; ++i) cells *= (long double)(shape[i] + 2);
  if (cells >= (long double)(uint32_t(~0u)))
    throw std::length_error("cuph: item too large (at most 2^32 - 2 generators per item, padding included)");
}

// `threads` > 1 splits the item's sweeps (large single items); batches use one per item.
// The item's pairs as flat indices (index_pairs) into `res`, whose lists may come with capacity
// from an earlier item (item_pairs_cache.hpp); write_pairs gives them their values.
inline void compute_item_into(ItemPairs& res, const ItemView& item, const Options& opt,
                              bool keep_diagonal, CancelToken& cancel, int threads = 1) {
  check_item_size(item.ndim, item.shape, opt.construction);
  const int maxdim = opt.maxdim < 0 ? item.ndim - 1 : opt.maxdim;
  for (auto& l : res.dim) l.clear();
  for (auto& l : res.value32) l.clear();
  for (auto& l : res.value64) l.clear();
  auto run = [&](auto d_tag, auto c_tag) {
    compute_item<decltype(d_tag)::value, decltype(c_tag)::value>(
        item, opt.superlevel, maxdim, keep_diagonal, opt.keep_values, threads, res, cancel);
  };
  auto with_c = [&](auto d_tag) {
    if (opt.construction == Construction::V)
      run(d_tag, std::integral_constant<Construction, Construction::V>{});
    else
      run(d_tag, std::integral_constant<Construction, Construction::T>{});
  };
  switch (item.ndim) {
    case 1: with_c(std::integral_constant<int, 1>{}); break;
    case 2: with_c(std::integral_constant<int, 2>{}); break;
    case 3: with_c(std::integral_constant<int, 3>{}); break;
    case 4: with_c(std::integral_constant<int, 4>{}); break;
    default: throw std::invalid_argument("cuph: items must have 1 to 4 dimensions");
  }
}

}  // namespace cuph
