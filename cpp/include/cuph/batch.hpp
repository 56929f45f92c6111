// A batch of independent items spread over a pool of threads, assembled into one structure of
// arrays sorted by (item, dim). Errors and cancellation stop all workers; the first failing item
// (lowest index) is reported so messages are deterministic.
#pragma once
#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "item_pairs_cache.hpp"
#include "persistence.hpp"
#include "result_pool.hpp"
#include "threads.hpp"

namespace cuph {

struct BatchView {
  ItemView item;          // item axes; `base` is the first item's origin
  int nbatch = 0;
  int64_t bshape[8] = {};
  int64_t bstrides[8] = {};  // byte strides of the batch axes
  int64_t n_items() const {
    int64_t n = 1;
    for (int i = 0; i < nbatch; ++i) n *= bshape[i];
    return n;
  }
  ItemView at(int64_t flat) const {
    ItemView v = item;
    for (int i = nbatch - 1; i >= 0; --i) {
      v.base += (flat % bshape[i]) * bstrides[i];
      flat /= bshape[i];
    }
    return v;
  }
};

// Result columns: blocks from the result pool for batches of small items, heap memory for a
// large item (result_pool.hpp, HeapColumns); left uninitialised by resize().
template <class T> using Column = std::vector<T, PooledAllocator<T>>;

// Birth and death values are float32 when that is exact for the input dtype (Python's
// engine.output_dtype makes the same choice): half the bytes to write for the common float32
// activation maps. `single` says which pair of vectors holds them. There is no item column: it
// follows from the offsets, and Python's Diagrams builds it only when read.
struct BatchResult {
  Column<int8_t> dim;
  Column<double> birth, death;
  Column<float> birth32, death32;
  bool single = false;
  Column<int64_t> birth_index, death_index;
  std::vector<int64_t> offsets;

  // Sizes every column for `total` rows (uninitialised), values in float32 where that is exact.
  void allocate(size_t total, DType dtype);
};

inline void BatchResult::allocate(size_t total, DType dtype) {
  single = exact_in_float(dtype);
  dim.resize(total);
  if (single) {
    birth32.resize(total);
    death32.resize(total);
  } else {
    birth.resize(total);
    death.resize(total);
  }
  birth_index.resize(total);
  death_index.resize(total);
}

// Every item's pairs (after index_pairs) in one result sorted by (item, dim): with every count
// known, each item writes its rows straight into the result's columns, in parallel (items
// released as they are written). `item_at(i)`: the view item i's values are read from.
template <class ItemAt>
BatchResult assemble_pairs(std::vector<ItemPairs>& items, int maxdim, bool superlevel, DType dtype,
                           int n_threads, ItemAt item_at) {
  const int64_t n = int64_t(items.size());
  BatchResult out;
  out.offsets.resize(size_t(n) * size_t(maxdim + 1) + 1);
  out.offsets[0] = 0;
  for (int64_t i = 0; i < n; ++i)
    for (int k = 0; k <= maxdim; ++k) {
      const size_t at = size_t(i) * size_t(maxdim + 1) + size_t(k);
      out.offsets[at + 1] = out.offsets[at] + int64_t(items[size_t(i)].dim[k].size());
    }
  out.allocate(size_t(out.offsets.back()), dtype);
  for_each_item(n, n_threads, nullptr, [&]() {
    return [&](int64_t i, CancelToken&) {
      const size_t row = size_t(out.offsets[size_t(i) * size_t(maxdim + 1)]);
      auto write = [&](auto* birth, auto* death) {
        using Value = typename std::remove_pointer<decltype(birth)>::type;
        write_pairs<Value>(items[size_t(i)], item_at(i), maxdim, superlevel, i,
                           {out.dim.data() + row, birth + row, death + row,
                            out.birth_index.data() + row, out.death_index.data() + row,
                            nullptr});
      };
      if (out.single) write(out.birth32.data(), out.death32.data());
      else write(out.birth.data(), out.death.data());
      // A large item's lists go as soon as they are written (the memory peak of a volume);
      // small ones are kept for the next batch (item_pairs_cache.hpp).
      if (!ItemPairsCache::small(items[size_t(i)])) items[size_t(i)] = ItemPairs();
    };
  });
  return out;
}

// Thrown for the failing item with the lowest index; wraps the original exception.
struct ItemError {
  int64_t item;
  Failure error;
};

// The most input values of a batch whose items keep their pairs' values (Options::keep_values).
constexpr size_t kKeepValues = size_t(1) << 24;

// Items run in parallel into their own pair lists, then assemble_pairs.
inline BatchResult compute_batch(const BatchView& batch, const Options& opt, bool keep_diagonal,
                                 int n_threads, const std::atomic<bool>* cancel_flag) {
  const int64_t n = batch.n_items();
  // 1-D and 2-D items take about 20 ns per value: a thread per 2^13 values at most, below
  // which a helper does not pay for its wakeup (~35 us here). On 2 threads against 1: a
  // 100x100 image 0.80x, 128x128 1.02x, 181x181 1.78x; 8 maps of 32x32 0.86x, 32 of them
  // 1.82x. 3-D and 4-D items cost ~10x more per value (a 20^3 noise volume: 1.45x) and keep
  // every thread.
  if (batch.item.ndim <= 2)
    n_threads = int(std::max<int64_t>(
        1, std::min<int64_t>(n_threads, n * batch.item.size() / (int64_t(1) << 13))));
  const int maxdim = opt.maxdim < 0 ? batch.item.ndim - 1 : opt.maxdim;
  std::vector<ItemPairs> items = ItemPairsCache::instance().take(static_cast<size_t>(n));
  // Batches of small items keep their pairs' values (ItemPairs), up to a bound on the batch
  // (kKeepValues input values, ~40 MB of float32 values for white noise) that keeps the memory
  // peak of huge batches where it was.
  Options item_opt = opt;
  item_opt.keep_values = size_t(batch.item.size()) <= kSmallItem &&
                         double(n) * double(batch.item.size()) <= double(kKeepValues);
  // Fewer items than threads: the spare threads split the items' sweeps.
  const int inner = int(std::max<int64_t>(1, n_threads / std::max<int64_t>(1, n)));
  const FirstFailure failure = for_each_item(n, n_threads, cancel_flag, [&]() {
    return [&](int64_t i, CancelToken& cancel) {
      compute_item_into(items[size_t(i)], batch.at(i), item_opt, keep_diagonal, cancel, inner);
    };
  });
  if (failure.error) throw ItemError{failure.item, failure.error};

  const ResultPool::HeapColumns heap(size_t(batch.item.size()) > kSmallItem);
  BatchResult r = assemble_pairs(items, maxdim, opt.superlevel, batch.item.dtype, n_threads,
                                 [&](int64_t i) { return batch.at(i); });
  ItemPairsCache::instance().give_back(std::move(items), ResultPool::instance().limit());
  return r;
}

}  // namespace cuph
