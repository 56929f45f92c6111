// A plain bitset over cell indices: marks of cleared columns cost one bit per cell.
#pragma once
#include <cstdint>
#include <vector>

namespace cuph {

class Bitset {
 public:
  explicit Bitset(size_t n = 0) : words_((n + 63) / 64, 0) {}
  void set(size_t i) { words_[i >> 6] |= uint64_t(1) << (i & 63); }
  // For writers on several threads (neighbouring bits share a word).
  void set_shared(size_t i) {
    __atomic_fetch_or(&words_[i >> 6], uint64_t(1) << (i & 63), __ATOMIC_RELAXED);
  }
  bool test(size_t i) const { return (words_[i >> 6] >> (i & 63)) & 1; }

 private:
  std::vector<uint64_t> words_;
};

}  // namespace cuph
