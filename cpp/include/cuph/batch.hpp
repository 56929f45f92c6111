// A batch of independent items spread over a pool of threads, assembled into one structure of
// arrays sorted by (item, dim). Errors and cancellation stop all workers; the first failing item
// (lowest index) is reported so messages are deterministic.
#pragma once
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "persistence.hpp"
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

struct BatchResult {
  std::vector<int8_t> dim;
  std::vector<double> birth, death;
  std::vector<int64_t> birth_index, death_index, item, offsets;
};

// Thrown for the failing item with the lowest index; wraps the original exception.
struct ItemError {
  int64_t item;
  std::exception_ptr error;
};

inline BatchResult compute_batch(const BatchView& batch, const Options& opt, bool keep_diagonal,
                                 int n_threads, const std::atomic<bool>* cancel_flag) {
  const int64_t n = batch.n_items();
  const int maxdim = opt.maxdim < 0 ? batch.item.ndim - 1 : opt.maxdim;
  std::vector<ItemDiagram> items(static_cast<size_t>(n));
  // Fewer items than threads: the spare threads split the items' sweeps.
  const int inner = int(std::max<int64_t>(1, n_threads / std::max<int64_t>(1, n)));
  const FirstFailure failure = for_each_item(n, n_threads, cancel_flag, [&]() {
    return [&](int64_t i, CancelToken& cancel) {
      items[size_t(i)] = compute_item(batch.at(i), opt, keep_diagonal, cancel, inner);
    };
  });
  if (failure.error) throw ItemError{failure.item, failure.error};

  BatchResult out;
  size_t total = 0;
  for (const auto& it : items) total += it.dim.size();
  out.dim.reserve(total);
  out.birth.reserve(total);
  out.death.reserve(total);
  out.birth_index.reserve(total);
  out.death_index.reserve(total);
  out.item.reserve(total);
  out.offsets.reserve(size_t(n) * size_t(maxdim + 1) + 1);
  out.offsets.push_back(0);
  for (int64_t i = 0; i < n; ++i) {
    ItemDiagram& it = items[size_t(i)];
    out.dim.insert(out.dim.end(), it.dim.begin(), it.dim.end());
    out.birth.insert(out.birth.end(), it.birth.begin(), it.birth.end());
    out.death.insert(out.death.end(), it.death.begin(), it.death.end());
    out.birth_index.insert(out.birth_index.end(), it.birth_index.begin(), it.birth_index.end());
    out.death_index.insert(out.death_index.end(), it.death_index.begin(), it.death_index.end());
    out.item.insert(out.item.end(), it.dim.size(), i);
    for (int k = 0; k <= maxdim; ++k) out.offsets.push_back(out.offsets.back() + it.count[k]);
    it = ItemDiagram();  // release as we go
  }
  return out;
}

}  // namespace cuph
