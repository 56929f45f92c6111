// The reduced columns of the middle-dimension reduction, append-only. On noise they are the
// largest allocation of a 3-D item (16M keys for 128^3: 61 bytes per voxel as 64-bit keys in
// one vector, briefly 3x that while the vector doubled). A column is stored as its length,
// its first key and the gaps between its ascending keys, each a LEB128 varint (7 bits per
// byte): measured on 128^3 noise, 59% of the gaps fit one byte (cells of one owner, or of
// nearby ranks, are neighbours in a column) and the mean is 1.85 bytes per key. Bytes go to
// chunks that are never copied when the store grows. A column is named by its address,
// chunk << 20 | offset: the pivot map holds it, so there is no table of column starts.
#pragma once
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

#include "check.hpp"

namespace cuph {

class ColumnStore {
 public:
  // Stores a sorted column of distinct keys; returns its address.
  uint64_t append(const uint64_t* col, size_t n) {
    const size_t most = 10 * (n + 1);  // a varint of 64 bits takes at most 10 bytes
    // A column starts below 2^20 in its chunk (a larger one opens a chunk of its own).
    if (used_ + most > capacity_ || used_ >= kChunkBytes) new_chunk(most);
    const uint64_t address = uint64_t(chunks_.size() - 1) << kOffsetBits | used_;
    uint8_t* const start = chunks_.back().get() + used_;
    uint8_t* w = put(start, n);
    uint64_t prev = 0;
    for (size_t j = 0; j < n; ++j) {
      w = put(w, col[j] - prev);
      prev = col[j];
    }
    used_ += size_t(w - start);
    return address;
  }

  // For readers on other threads (CoboundaryReducer::reduce_shared): the table of chunks is
  // never reallocated, so a column published with release ordering can be read while this
  // store grows (at most 2^16 chunks then: 64 GiB).
  void share() {
    shared_ = true;
    chunks_.reserve(kSharedChunks);
  }
  // The column at `address`, without its first key (the pivot), appended to out; returns the
  // pivot.
  uint64_t tail(uint64_t address, std::vector<uint64_t>& out) const {
    const uint8_t* r = bytes_at(address);
    uint64_t n, key;
    r = get(r, n);
    CUPH_ASSERT(n >= 1);  // every stored column has its pivot
    r = get(r, key);
    const uint64_t pivot = key;
    const size_t at = out.size();
    out.resize(at + size_t(n) - 1);
    uint64_t* w = out.data() + at;
    for (uint64_t j = 1; j < n; ++j) {
      const uint8_t b = *r;
      if (b < 0x80) {  // most gaps: one byte
        ++r;
        key += b;
      } else {
        uint64_t gap;
        r = get(r, gap);
        key += gap;
      }
      *w++ = key;
    }
    return pivot;
  }

 private:
  const uint8_t* bytes_at(uint64_t address) const {
    CUPH_ASSERT((address >> kOffsetBits) < chunks_.size());
    return chunks_[address >> kOffsetBits].get() + (address & (kChunkBytes - 1));
  }
  static uint8_t* put(uint8_t* w, uint64_t v) {
    while (v >= 0x80) {
      *w++ = uint8_t(v | 0x80);
      v >>= 7;
    }
    *w++ = uint8_t(v);
    return w;
  }
  static const uint8_t* get(const uint8_t* r, uint64_t& v) {
    v = 0;
    for (int shift = 0;; shift += 7) {
      const uint8_t b = *r++;
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return r;
    }
  }
  void new_chunk(size_t at_least) {
    if (shared_ && chunks_.size() == kSharedChunks)
      throw std::length_error("cuph: reduced columns exceed 64 GiB on one thread");
    capacity_ = at_least > kChunkBytes ? at_least : kChunkBytes;
    chunks_.emplace_back(new uint8_t[capacity_]);
    used_ = 0;
  }

  static constexpr int kOffsetBits = 20;
  static constexpr size_t kChunkBytes = size_t(1) << kOffsetBits;
  static constexpr size_t kSharedChunks = size_t(1) << 16;
  std::vector<std::unique_ptr<uint8_t[]>> chunks_;
  bool shared_ = false;
  size_t used_ = 0, capacity_ = 0;
};

}  // namespace cuph
