// The reduced columns of the middle-dimension reduction, append-only. On noise they are the
// largest allocation of a 3-D item (16M keys for 128^3, 61 bytes per voxel as 64-bit keys in
// one vector, briefly 3x that while the vector doubled). Here a column is its ascending keys
// delta-encoded in 32-bit words (the first key, and any gap of 2^32 or more, as an escape
// word 0 followed by two halves: gaps are never 0 in a column of distinct keys), in chunks
// that are never copied when the store grows.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "check.hpp"

namespace cuph {

class ColumnStore {
 public:
  // Stores a sorted column of distinct keys; returns its id (0, 1, ...).
  int64_t append(const uint64_t* col, size_t n) {
    const size_t most = 1 + 3 * n;  // length word, every entry escaped
    if (used_ + most > capacity_) new_chunk(most);
    uint32_t* w = chunks_.back().get() + used_;
    uint32_t* const start = w;
    *w++ = uint32_t(n);
    uint64_t prev = 0;
    for (size_t j = 0; j < n; ++j) {
      const uint64_t gap = col[j] - prev;
      if (j > 0 && gap < (uint64_t(1) << 32)) {
        *w++ = uint32_t(gap);
      } else {
        *w++ = 0;
        *w++ = uint32_t(gap >> 32);
        *w++ = uint32_t(gap);
      }
      prev = col[j];
    }
    used_ += size_t(w - start);
    where_.push_back(start);
    return int64_t(where_.size()) - 1;
  }

  // Column id, without its first key (the pivot), appended to out.
  void tail(int64_t id, std::vector<uint64_t>& out) const {
    CUPH_ASSERT(id >= 0 && size_t(id) < where_.size());
    const uint32_t* w = where_[size_t(id)];
    const uint32_t n = *w++;
    uint64_t key = 0;
    for (uint32_t j = 0; j < n; ++j) {
      uint64_t gap = *w++;
      if (gap == 0) {
        gap = (uint64_t(w[0]) << 32) | w[1];
        w += 2;
      }
      key += gap;
      if (j > 0) out.push_back(key);
    }
  }

 private:
  void new_chunk(size_t at_least) {
    capacity_ = at_least > kChunkWords ? at_least : kChunkWords;
    chunks_.emplace_back(new uint32_t[capacity_]);
    used_ = 0;
  }

  static constexpr size_t kChunkWords = size_t(1) << 18;  // 1 MiB
  std::vector<std::unique_ptr<uint32_t[]>> chunks_;
  std::vector<const uint32_t*> where_;  // first word of each column
  size_t used_ = 0, capacity_ = 0;
};

}  // namespace cuph
