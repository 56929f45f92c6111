// A plain bitset over cell indices: marks of cleared columns cost one bit per cell.
#pragma once
#include <cstdint>
#include <vector>

namespace cuph {

class Bitset {
 public:
  explicit Bitset(size_t n = 0) : words_((n + 63) / 64, 0) {}
  void set(size_t i) { words_[i >> 6] |= uint64_t(1) << (i & 63); }
  bool test(size_t i) const { return (words_[i >> 6] >> (i & 63)) & 1; }

 private:
  std::vector<uint64_t> words_;
};

}  // namespace cuph
