// Pivot -> column for the reduction on several threads (CoboundaryReducer::reduce_shared): an
// open-addressing table with linear probing whose keys are inserted once and never removed,
// and whose values change only by compare-and-swap, so lookups take no lock.
//
// A slot is two 64-bit atomics (16 bytes against PivotMap's packed 12): this map serves items
// reduced on several threads, where memory per voxel is not the target. Its size is fixed:
// every key is a column's pivot and distinct columns own distinct keys, so the caller knows a
// bound, and a table that grew would move slots under concurrent readers.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "check.hpp"

namespace cuph {

class ConcurrentPivotMap {
 public:
  static constexpr uint64_t kNone = ~uint64_t(0);  // no value (yet): the key is unclaimed

  // Room for `expected` keys at a load of at most 3/4.
  explicit ConcurrentPivotMap(size_t expected)
      : n_(expected + expected / 3 + 16), slots_(new Slot[n_]) {
    for (size_t i = 0; i < n_; ++i) {
      slots_[i].key.store(kEmptyKey, std::memory_order_relaxed);
      slots_[i].value.store(kNone, std::memory_order_relaxed);
    }
  }

  // key's value (acquire: what its writer published before setting it is visible), or kNone.
  uint64_t find(uint64_t key) const {
    for (size_t i = slot(key);; i = next(i)) {
      const uint64_t k = slots_[i].key.load(std::memory_order_acquire);
      if (k == key) return slots_[i].value.load(std::memory_order_acquire);
      if (k == kEmptyKey) return kNone;
    }
  }
  void prefetch(uint64_t key) const { __builtin_prefetch(&slots_[slot(key)]); }

  // Sets key's value to `desired` if it is `expected` (kNone: unclaimed or absent), inserting
  // the key if needed; returns the value seen, which equals `expected` on success.
  uint64_t exchange_if(uint64_t key, uint64_t expected, uint64_t desired) {
    CUPH_ASSERT(key != kEmptyKey && desired != kNone);
    size_t i = slot(key);
    for (size_t probes = 0;; i = next(i), ++probes) {
      if (probes == n_) throw std::logic_error("cuph: concurrent pivot map is full");
      uint64_t k = slots_[i].key.load(std::memory_order_acquire);
      // An empty slot is taken, unless another thread took it first (k: its key then).
      if (k == kEmptyKey &&
          slots_[i].key.compare_exchange_strong(k, key, std::memory_order_acq_rel))
        break;
      if (k == key) break;
    }
    uint64_t seen = expected;
    slots_[i].value.compare_exchange_strong(seen, desired, std::memory_order_acq_rel);
    return seen;
  }

 private:
  static constexpr uint64_t kEmptyKey = ~uint64_t(0);
  struct Slot {
    std::atomic<uint64_t> key, value;
  };
  size_t slot(uint64_t key) const {
    return size_t((unsigned __int128)(key * 0x9E3779B97F4A7C15ull) * n_ >> 64);
  }
  size_t next(size_t i) const { return i + 1 == n_ ? 0 : i + 1; }
  size_t n_;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace cuph
