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
  bool test(size_t i) const {
    CUPH_ASSERT(i < size_);
    return (words_[i >> 6] >> (i & 63)) & 1; }

 private:
  std::vector<uint64_t> words_;
  size_t size_;
};

}  // namespace cuph
