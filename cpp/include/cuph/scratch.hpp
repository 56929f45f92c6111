// Working memory that a thread keeps from one small item to the next. A batch of small items
// would allocate and free the same few hundred KB per item, and glibc hands a freed heap top back
// to the kernel (128 KB trim threshold), so every item paid its page faults again (a few percent
// of a batch of 56x56 maps). Worker threads are parked between calls (thread_pool.hpp), so
// these buffers (at most kSmallItem elements each) stay warm from call to call; items above
// kSmallItem elements allocate their own, freed as soon as they are done, so large volumes keep
// their memory peak.
#pragma once
#include <cstddef>
#include <memory>
#include <vector>

#include "uninit_allocator.hpp"

namespace cuph {

constexpr size_t kSmallItem = size_t(1) << 16;

// At least n uninitialised T: the thread's buffer `Slot` when n is small, else `own` (resized).
// Two buffers alive at once must use different slots.
template <int Slot, class T> T* scratch_buffer(size_t n, std::unique_ptr<T[]>& own) {
  if (n > kSmallItem) {
    own.reset(new T[n]);
    huge_page_hint(own.get(), n * sizeof(T));
    return own.get();
  }
  thread_local std::unique_ptr<T[]> kept;
  thread_local size_t capacity = 0;
  if (n > capacity) {
    kept.reset(new T[n]);
    capacity = n;
  }
  return kept.get();
}

// An empty vector: the thread's vector `Slot` when the item is small (capacity kept), else `own`.
template <int Slot, class Vec> Vec& scratch_vector(size_t item_size, Vec& own) {
  if (item_size > kSmallItem) return own;
  thread_local Vec kept;
  kept.clear();
  return kept;
}

}  // namespace cuph
