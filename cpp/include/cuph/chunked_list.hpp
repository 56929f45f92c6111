// An append-only list of trivially copyable values in fixed-size chunks. A std::vector grown
// by doubling copies itself and frees each old copy into the heap, where the freed pages stay
// resident beside the new ones: the union-find's critical joins on a noise volume left holes
// worth 10 bytes per voxel at the memory peak. Chunks are never copied, a list wastes at most
// one partly filled chunk, and freed chunks are reused by the next list (no page faults).
#pragma once
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace cuph {

template <class T, int kShift = 12> class ChunkedList {
  static_assert(std::is_trivially_copyable<T>::value, "values are copied as bytes");
  static constexpr size_t kChunk = size_t(1) << kShift;

 public:
  void push_back(const T& v) {
    if (next_ == end_) grow();
    *next_++ = v;
  }
  size_t size() const {
    if (chunks_.empty()) return 0;
    return (chunks_.size() - 1) * kChunk + size_t(next_ - chunks_.back().get());
  }
  bool empty() const { return size() == 0; }
  const T& operator[](size_t i) const { return chunks_[i >> kShift][i & (kChunk - 1)]; }

  // Appends `from` and empties it: moved when this list is empty, else copied.
  void append(ChunkedList& from) {
    if (empty()) {
      std::swap(chunks_, from.chunks_);
      std::swap(next_, from.next_);
      std::swap(end_, from.end_);
    } else {
      for (size_t i = 0, n = from.size(); i < n; ++i) push_back(from[i]);
    }
    from = ChunkedList();
  }

 private:
  void grow() {
    chunks_.emplace_back(new T[kChunk]);
    next_ = chunks_.back().get();
    end_ = next_ + kChunk;
  }

  std::vector<std::unique_ptr<T[]>> chunks_;
  T *next_ = nullptr, *end_ = nullptr;
};

}  // namespace cuph
