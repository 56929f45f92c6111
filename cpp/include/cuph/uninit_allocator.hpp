// An allocator for vectors of plain values that are written right after they are sized.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>
#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace cuph {

// Asks for transparent huge pages on the whole 2 MiB pages inside [p, p + bytes): a hint only.
inline void huge_page_hint(void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t(1) << 21;
  const uintptr_t lo = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t hi = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (hi > lo) madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_HUGEPAGE);
#else
  (void)p, (void)bytes;
#endif
}

// resize() leaves new elements uninitialised: every row of a result column is written once by
// its item, so zeroing it first was a second pass over the output (and its page faults taken by
// one thread instead of the writers); an item's pair lists are sized for every join of a pass
// before the replay writes the pairs.
// Large columns also ask for transparent huge pages (where THP is in "madvise" mode): the
// writers then take one page fault per 2 MiB instead of per 4 KiB.
template <class T> struct UninitAllocator : std::allocator<T> {
  using value_type = T;
  template <class U> struct rebind { using other = UninitAllocator<U>; };
  UninitAllocator() = default;
  template <class U> UninitAllocator(const UninitAllocator<U>&) noexcept {}
  T* allocate(size_t n) {
    T* p = std::allocator<T>::allocate(n);
    huge_page_hint(p, n * sizeof(T));
    return p;
  }
  template <class U> void construct(U* p) noexcept { ::new (static_cast<void*>(p)) U; }
  template <class U, class... Args> void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

// A vector of plain values that resize() leaves uninitialised: an item's working arrays (keys,
// ranks, sort buffers), which are written whole right after they are sized. Zeroed, each was one
// more pass over memory, and the page faults of a large item's fresh arrays (128^3: 17 k per
// call, 20-35 ms of system time in a call of 170 ms) came from memset instead of the writers,
// 4 KiB at a time instead of 2 MiB.
template <class T> using UninitVector = std::vector<T, UninitAllocator<T>>;

}  // namespace cuph
