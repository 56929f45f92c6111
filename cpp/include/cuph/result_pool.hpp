// Result columns handed to Python come from, and go back to, a process-wide pool of blocks.
//
// A call's result columns are written once, then owned by numpy arrays the caller soon drops.
// Memory freshly mapped from the kernel costs a page fault per page (per 2 MiB with huge pages,
// each zeroing 2 MiB), and on a virtual machine whose host takes back the guest's free memory
// (free page reporting, ballooning) that first touch costs far more: the 48 MB of results of a
// 2048x56x56 white-noise batch took 0.01-0.15 s of system time on this project's VM, in a call
// of 0.19 s of user time (measured with getrusage, perf: clear_page_erms under
// do_huge_pmd_anonymous_page in write_pairs). The pool keeps the blocks of dropped results
// (their pages stay mapped and warm) and gives them to the next call's columns, up to a byte
// limit (set_limit; CUPH_RESULT_CACHE at import), evicting the least recently returned first.
//
// Only blocks of kMinBlock bytes or more are pooled; smaller columns use operator new, whose
// heap glibc already recycles, and so do the columns of large items (HeapColumns). Columns of
// 64 KiB to 1 MiB (2048x56x56 smooth maps: dim, birth and death) were heap memory too, until
// glibc trimmed the freed top of the heap between calls and each call faulted 1.3 MB back in.
// Blocks of 2 MiB and more are whole multiples of 2 MiB, 2 MiB aligned, and ask for
// transparent huge pages (THP in "madvise" mode): writers take one fault per 2 MiB; smaller
// ones are multiples of 64 KiB.
// Under AddressSanitizer blocks come from operator new (so ASan knows them) and a block in the
// pool is poisoned: a write through a dropped array's pointer is reported.
// Fork: pthread_atfork holds the pool's lock across fork(), so the child's pool is consistent.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <list>
#include <mutex>
#include <new>
#include <unordered_map>
#include <utility>

#include "uninit_allocator.hpp"

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#include <sys/mman.h>
#define CUPH_POOL_MMAP 1
#endif

#if defined(__SANITIZE_ADDRESS__)
#define CUPH_POOL_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CUPH_POOL_ASAN 1
#endif
#endif
#if defined(CUPH_POOL_ASAN)
#include <sanitizer/asan_interface.h>
#undef CUPH_POOL_MMAP
#endif

namespace cuph {

class ResultPool {
 public:
  static constexpr size_t kMinBlock = size_t(64) << 10;  // smaller: operator new
  static constexpr size_t kGrain = size_t(2) << 20;      // large block sizes and alignment
  static constexpr size_t kSmallGrain = size_t(64) << 10;  // below kGrain
  static constexpr size_t kDefaultLimit = size_t(256) << 20;

  static ResultPool& instance() {
    static ResultPool* pool = [] {
      auto* p = new ResultPool;  // never destroyed: arrays may outlive static destructors
#if defined(__unix__) || defined(__APPLE__)
      pthread_atfork([] { ResultPool::instance().mutex_.lock(); },
                     [] { ResultPool::instance().mutex_.unlock(); },
                     [] { ResultPool::instance().mutex_.unlock(); });
#endif
      return p;
    }();
    return *pool;
  }

  static bool pooled(size_t bytes) { return bytes >= kMinBlock; }

  // A block of at least `bytes` (pooled(bytes) must hold): the best-fitting cached block that
  // wastes at most a quarter of itself, else a new one.
  void* take(size_t bytes) {
    const size_t want = round_up(bytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto best = cache_.end();
      for (auto it = cache_.begin(); it != cache_.end(); ++it)
        if (it->second >= want && it->second - want <= it->second / 4 &&
            (best == cache_.end() || it->second < best->second))
          best = it;
      if (best != cache_.end()) {
        void* p = best->first;
        const size_t cap = best->second;
        cached_ -= cap;
        cache_.erase(best);
        live_.emplace(p, cap);
        ++reused_;
        unpoison(p, bytes);
        return p;
      }
    }
    void* p = map_block(want);
    poison(static_cast<char*>(p) + bytes, want - bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    live_.emplace(p, want);
    ++mapped_;
    return p;
  }

  // Back into the cache (most recently returned last), then the oldest blocks over the limit
  // are unmapped. False (and nothing done) when p is not a block of this pool.
  bool give_back(void* p) noexcept {
    std::list<std::pair<void*, size_t>> evicted;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = live_.find(p);
      if (it == live_.end()) return false;
      const size_t cap = it->second;
      live_.erase(it);
      poison(p, cap);
      cache_.emplace_back(p, cap);
      cached_ += cap;
      trim_locked(evicted);
    }
    for (auto& b : evicted) unmap_block(b.first, b.second);
    return true;
  }

  // While one lives, this thread's result columns come from the heap instead (see
  // PooledAllocator): a large item frees a working set of tens of bytes per value just before
  // its columns are assembled, and glibc lets heap columns reuse those pages, which pool blocks
  // (fresh mappings) cannot: 96^3 float64 noise peaked at 49 bytes per voxel with pool columns,
  // 34 with heap ones. The warm pages the pool saves matter for batches of small items.
  class HeapColumns {
   public:
    explicit HeapColumns(bool on) : was_(flag()) { flag() = on; }
    ~HeapColumns() { flag() = was_; }
    HeapColumns(const HeapColumns&) = delete;
    HeapColumns& operator=(const HeapColumns&) = delete;
    static bool active() { return flag(); }

   private:
    static bool& flag() {
      thread_local bool on = false;
      return on;
    }
    bool was_;
  };

  // The most bytes the cache keeps; returns the previous limit. 0: nothing is kept.
  size_t set_limit(size_t bytes) {
    std::list<std::pair<void*, size_t>> evicted;
    size_t old;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      old = limit_;
      limit_ = bytes;
      trim_locked(evicted);
    }
    for (auto& b : evicted) unmap_block(b.first, b.second);
    return old;
  }

  size_t limit() {
    std::lock_guard<std::mutex> lock(mutex_);
    return limit_;
  }

  struct Stats {
    size_t limit, cached_bytes, cached_blocks, live_bytes, live_blocks, mapped, reused;
  };
  Stats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t live = 0;
    for (auto& b : live_) live += b.second;
    return {limit_, cached_, cache_.size(), live, live_.size(), mapped_, reused_};
  }

 private:
  ResultPool() = default;

  static size_t round_up(size_t bytes) {
    const size_t grain = bytes < kGrain ? kSmallGrain : kGrain;
    return (bytes + grain - 1) / grain * grain;
  }

  void trim_locked(std::list<std::pair<void*, size_t>>& evicted) {
    while (cached_ > limit_ && !cache_.empty()) {
      cached_ -= cache_.front().second;
      evicted.splice(evicted.end(), cache_, cache_.begin());
    }
  }

  static void* map_block(size_t cap) {
#if defined(CUPH_POOL_MMAP)
    if (cap < kGrain) {  // no huge page to align for
      void* p = mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw std::bad_alloc();
      return p;
    }
    // Map a grain more than needed and cut it back to a 2 MiB aligned range (THP needs it).
    void* raw = mmap(nullptr, cap + kGrain, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const uintptr_t lo = reinterpret_cast<uintptr_t>(raw);
    const uintptr_t start = (lo + kGrain - 1) & ~uintptr_t(kGrain - 1);
    if (start > lo) munmap(raw, start - lo);
    const size_t tail = (lo + cap + kGrain) - (start + cap);
    if (tail > 0) munmap(reinterpret_cast<void*>(start + cap), tail);
    huge_page_hint(reinterpret_cast<void*>(start), cap);
    return reinterpret_cast<void*>(start);
#else
    return ::operator new(cap, std::align_val_t(64));
#endif
  }

  static void unmap_block(void* p, size_t cap) noexcept {
#if defined(CUPH_POOL_MMAP)
    munmap(p, cap);
#else
    unpoison(p, cap);
    ::operator delete(p, std::align_val_t(64));
#endif
  }

  static void poison(void* p, size_t n) noexcept {
#if defined(CUPH_POOL_ASAN)
    ASAN_POISON_MEMORY_REGION(p, n);
#else
    (void)p, (void)n;
#endif
  }
  static void unpoison(void* p, size_t n) noexcept {
#if defined(CUPH_POOL_ASAN)
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
    (void)p, (void)n;
#endif
  }

  std::mutex mutex_;
  std::list<std::pair<void*, size_t>> cache_;   // (block, bytes), least recently returned first
  std::unordered_map<void*, size_t> live_;      // blocks held by columns
  size_t cached_ = 0;
  size_t limit_ = kDefaultLimit;
  size_t mapped_ = 0, reused_ = 0;
};

// std::vector allocator of result columns: pooled blocks for large columns, and elements left
// uninitialised by resize() (UninitAllocator's construct: each row is written once by its item).
// Heap columns skip UninitAllocator's huge-page hint: a large item's columns share heap pages
// with what its working set freed.
template <class T> struct PooledAllocator : UninitAllocator<T> {
  using value_type = T;
  template <class U> struct rebind { using other = PooledAllocator<U>; };
  PooledAllocator() = default;
  template <class U> PooledAllocator(const PooledAllocator<U>&) noexcept {}
  T* allocate(size_t n) {
    const size_t bytes = n * sizeof(T);
    if (!ResultPool::pooled(bytes) || ResultPool::HeapColumns::active())
      return std::allocator<T>::allocate(n);
    return static_cast<T*>(ResultPool::instance().take(bytes));
  }
  void deallocate(T* p, size_t n) noexcept {
    if (ResultPool::pooled(n * sizeof(T)) && ResultPool::instance().give_back(p)) return;
    std::allocator<T>::deallocate(p, n);
  }
  template <class U> bool operator==(const PooledAllocator<U>&) const noexcept { return true; }
  template <class U> bool operator!=(const PooledAllocator<U>&) const noexcept { return false; }
};

}  // namespace cuph
