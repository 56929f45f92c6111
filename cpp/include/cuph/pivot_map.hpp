// Pivot -> column of the middle-dimension reduction: an open-addressing hash map with linear
// probing over one flat array, so a lookup costs one cache line, not the two or three dependent
// loads of a node-based std::unordered_map.
//
// It is the second largest structure of a 3-D noise reduction (one entry per reduced column),
// so a slot is 12 bytes: keys have at most 39 bits (a 32-bit rank and a 7-bit code), values at
// most 57, and the two share one 64-bit word and a 32-bit one. The reducer knows how many
// columns it will reduce and sizes the map once: a table that doubled would leave its old
// halves as holes in the heap at the memory peak.
#pragma once
#include <cstdint>
#include <vector>

#include "check.hpp"

namespace cuph {

class PivotMap {
 public:
  static constexpr int kKeyBits = 39, kValueBits = 57;

  // Room for `expected` keys at a load of at most 3/4 (more keys rehash into a larger table).
  explicit PivotMap(size_t expected = 0) { rehash(expected + expected / 3 + 16); }

  // Whether key is present; its value in `value` if so.
  bool find(uint64_t key, uint64_t& value) const {
    for (size_t i = slot(key);; i = next(i)) {
      const Slot& s = slots_[i];
      if ((s.word & kKeyMask) == key) {
        value = (s.word >> kKeyBits) << 32 | s.low;
        return true;
      }
      if (s.word == kEmpty) return false;
    }
  }
  // Starts loading key's slot: the lookup that follows may come after other cache misses.
  void prefetch(uint64_t key) const { __builtin_prefetch(&slots_[slot(key)]); }
  // Inserts or overwrites.
  void set(uint64_t key, uint64_t value) {
    CUPH_ASSERT(key < kKeyMask && value < (uint64_t(1) << kValueBits));
    if ((size_ + 1) * 4 > slots_.size() * 3) rehash(slots_.size() * 2);
    size_t i = slot(key);
    while (slots_[i].word != kEmpty && (slots_[i].word & kKeyMask) != key) i = next(i);
    if (slots_[i].word == kEmpty) ++size_;
    slots_[i] = {key | (value >> 32) << kKeyBits, uint32_t(value)};
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kKeyMask = (uint64_t(1) << kKeyBits) - 1;
  static constexpr uint64_t kEmpty = ~uint64_t(0);  // its key bits are no key (all ones)
#pragma pack(push, 4)
  struct Slot {
    uint64_t word;  // key, then the value's high 25 bits
    uint32_t low;   // the value's low 32 bits
  };
#pragma pack(pop)
  static_assert(sizeof(Slot) == 12, "12-byte slots");

  // Fibonacci hashing, mapped onto any table size by a multiply-high (no power of two needed,
  // so the table is no larger than the expected count asks).
  size_t slot(uint64_t key) const {
    return size_t((unsigned __int128)(key * 0x9E3779B97F4A7C15ull) * slots_.size() >> 64);
  }
  size_t next(size_t i) const { return i + 1 == slots_.size() ? 0 : i + 1; }
  void rehash(size_t n) {
    std::vector<Slot> old(n, Slot{kEmpty, 0});
    old.swap(slots_);
    size_ = 0;
    for (const Slot& s : old)
      if (s.word != kEmpty) set(s.word & kKeyMask, (s.word >> kKeyBits) << 32 | s.low);
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace cuph
