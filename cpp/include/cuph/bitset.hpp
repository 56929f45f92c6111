// A plain bitset over cell indices: marks of cleared columns cost one bit per cell.
#pragma once
#include <cstdint>
#include <vector>

#include "check.hpp"

namespace cuph {

class Bitset {
 public:
  explicit Bitset(size_t n = 0) : words_((n + 63) / 64, 0), size_(n) {}
  void set(size_t i) {
    CUPH_ASSERT(i < size_);
    words_[i >> 6] |= uint64_t(1) << (i & 63); }
  // For writers on several threads (neighbouring bits share a word).
  void set_shared(size_t i) {
    CUPH_ASSERT(i < size_);
    __atomic_fetch_or(&words_[i >> 6], uint64_t(1) << (i & 63), __ATOMIC_RELAXED);
  }
  // set_shared when other threads write the same bitset (sweeps split over ranges), else set.
  // Inlined: called once per zero-length join of every generator, where GCC kept it out of
  // line (6% of a smooth 64x56x56 volume's samples; inlined, its union-find 1-4% faster).
#if defined(__GNUC__)
  __attribute__((always_inline))
#endif
  void mark(size_t i, bool shared) {
    if (shared) set_shared(i);
    else set(i);
  }
  void reset(size_t i) {
    CUPH_ASSERT(i < size_);
    words_[i >> 6] &= ~(uint64_t(1) << (i & 63));
  }
  bool test(size_t i) const {
    CUPH_ASSERT(i < size_);
    return (words_[i >> 6] >> (i & 63)) & 1; }
  size_t count() const {
    size_t n = 0;
    for (uint64_t w : words_) n += size_t(__builtin_popcountll(w));
    return n;
  }
  // f(i) for every set bit i, from the highest down.
  template <class F> void for_each_set_descending(F&& f) const {
    for (size_t w = words_.size(); w-- > 0;)
      for (uint64_t bits = words_[w]; bits;) {
        const int top = 63 - __builtin_clzll(bits);
        f(w * 64 + size_t(top));
        bits &= ~(uint64_t(1) << top);
      }
  }

 private:
  std::vector<uint64_t> words_;
  size_t size_;
};

}  // namespace cuph
