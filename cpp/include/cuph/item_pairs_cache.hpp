// The pair lists of a batch's small items, kept from one call to the next.
//
// Every item of a batch fills its own pair lists, which wait until the whole batch is assembled;
// then all of them are freed at once. glibc gives the freed top of a thread's heap back to the
// kernel, so the next call grew it again: ~4 k page faults per call of 2048 white-noise 56x56
// maps (16 MB of lists), 2-8% of its time here and more on a VM whose host reclaims free guest
// memory. The lists of small items (kSmallItem pairs at most, as scratch.hpp) are kept here
// instead, emptied but with their capacity, up to a byte limit, and handed to the next batch's
// items. Large items' lists are still freed as soon as they are assembled, which keeps a big
// volume's memory peak where it was.
#pragma once
#include <algorithm>
#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <pthread.h>
#endif

#include "diagram.hpp"
#include "scratch.hpp"

namespace cuph {

class ItemPairsCache {
 public:
  static constexpr size_t kMaxBytes = size_t(64) << 20;

  static ItemPairsCache& instance() {
    static ItemPairsCache* cache = [] {
      auto* c = new ItemPairsCache;  // never destroyed, as the result pool
#if defined(__unix__) || defined(__APPLE__)
      // Held across fork(), so that a forked child finds it consistent and unlocked.
      pthread_atfork([] { ItemPairsCache::instance().mutex_.lock(); },
                     [] { ItemPairsCache::instance().mutex_.unlock(); },
                     [] { ItemPairsCache::instance().mutex_.unlock(); });
#endif
      return c;
    }();
    return *cache;
  }

  // n items' lists: kept ones first (empty, with capacity), then new ones.
  std::vector<ItemPairs> take(size_t n) {
    std::vector<ItemPairs> items;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      items.swap(kept_);
      bytes_ = 0;
    }
    items.resize(n);  // a surplus of kept items is simply dropped
    return items;
  }

  size_t bytes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return bytes_;
  }
  // A new limit: lists kept beyond it are freed now rather than at the next batch.
  void set_limit(size_t limit) {
    std::vector<ItemPairs> gone;  // freed after the lock is released
    std::lock_guard<std::mutex> lock(mutex_);
    if (bytes_ <= limit) return;
    gone.swap(kept_);
    bytes_ = 0;
  }

  // True when item lists of this size are worth keeping (else free them once assembled).
  static bool small(const ItemPairs& p) {
    size_t pairs = 0;
    for (const auto& l : p.dim) pairs += l.capacity();
    return pairs <= kSmallItem;
  }

  // Keeps the small items' lists (emptied) while they fit in `limit` bytes (at most kMaxBytes).
  void give_back(std::vector<ItemPairs>&& items, size_t limit) {
    limit = std::min(limit, kMaxBytes);
    size_t bytes = 0, kept = 0;
    for (auto& p : items) {
      size_t here = 0;
      auto empty = [&here](auto& lists) {
        for (auto& l : lists) {
          l.clear();
          here += l.capacity() * sizeof(l[0]);
        }
      };
      empty(p.dim);
      empty(p.value32);
      empty(p.value64);
      if (here == 0 || !small(p) || bytes + here > limit) continue;
      bytes += here;
      if (kept != size_t(&p - items.data())) std::swap(items[kept], p);
      ++kept;
    }
    items.resize(kept);
    std::lock_guard<std::mutex> lock(mutex_);
    if (bytes >= bytes_) {  // the larger set wins; the other is freed outside the lock below
      items.swap(kept_);
      bytes_ = bytes;
    }
  }

 private:
  ItemPairsCache() = default;
  std::mutex mutex_;
  std::vector<ItemPairs> kept_;
  size_t bytes_ = 0;
};

}  // namespace cuph
