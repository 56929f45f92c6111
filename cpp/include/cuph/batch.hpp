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
  std::atomic<int64_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<ItemError> errors;
  std::mutex errors_mutex;

  // Fewer items than threads: the spare threads split the items' sweeps.
  const int inner = int(std::max<int64_t>(1, n_threads / std::max<int64_t>(1, n)));
  auto worker = [&]() {
    CancelToken cancel(cancel_flag);
    while (!failed.load(std::memory_order_relaxed)) {
      const int64_t i = next.fetch_add(1);
      if (i >= n) break;
      try {
        cancel.check();
        items[size_t(i)] = compute_item(batch.at(i), opt, keep_diagonal, cancel, inner);
      } catch (...) {
        std::lock_guard<std::mutex> lock(errors_mutex);
        errors.push_back({i, std::current_exception()});
        failed = true;
      }
    }
  };
  const int threads = int(std::max<int64_t>(1, std::min<int64_t>(n_threads, n)));
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
  }
  if (!errors.empty()) {
    const ItemError* first = &errors[0];
    for (const auto& e : errors)
      if (e.item < first->item) first = &e;
    throw *first;
  }

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
