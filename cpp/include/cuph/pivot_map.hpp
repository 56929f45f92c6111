// Pivot -> column of the middle-dimension reduction: an open-addressing hash map with linear
// probing over one flat array. Most lookups miss (the pivot belongs to an apparent column,
// found by a local test instead), so a lookup should cost one cache line, not the two or
// three dependent loads of a node-based std::unordered_map.
#pragma once
#include <cstdint>
#include <vector>

namespace cuph {

class PivotMap {
 public:
  static constexpr uint64_t kEmpty = ~uint64_t(0);  // never a key (keys have < 48 bits)

  PivotMap() { rehash(64); }

  // The value of key, or nullptr.
  const int64_t* find(uint64_t key) const {
    for (size_t i = slot(key);; i = (i + 1) & mask_) {
      if (slots_[i].key == key) return &slots_[i].value;
      if (slots_[i].key == kEmpty) return nullptr;
    }
  }
  // Starts loading key's slot: the lookup that follows may come after other cache misses.
  void prefetch(uint64_t key) const { __builtin_prefetch(&slots_[slot(key)]); }
  // Inserts or overwrites.
  void set(uint64_t key, int64_t value) {
    if ((size_ + 1) * 10 > slots_.size() * 7) rehash(slots_.size() * 2);
    size_t i = slot(key);
    while (slots_[i].key != kEmpty && slots_[i].key != key) i = (i + 1) & mask_;
    if (slots_[i].key == kEmpty) ++size_;
    slots_[i] = {key, value};
  }
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key;
    int64_t value;
  };
  size_t slot(uint64_t key) const {
    return size_t((key * 0x9E3779B97F4A7C15ull) >> shift_);  // Fibonacci hashing
  }
  void rehash(size_t n) {
    std::vector<Slot> old(n, Slot{kEmpty, 0});
    old.swap(slots_);
    mask_ = n - 1;
    shift_ = 64;
    for (size_t m = n; m > 1; m >>= 1) --shift_;
    size_ = 0;
    for (const Slot& s : old)
      if (s.key != kEmpty) set(s.key, s.value);
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0, size_ = 0;
  int shift_ = 64;
};

}  // namespace cuph
