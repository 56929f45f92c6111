// The column under reduction in the middle dimensions: a Z/2 sum of sorted columns whose
// smallest surviving entry (the pivot) is read after every addition.
//
// On noise a few columns grow to tens of thousands of entries while the columns added to them
// stay short (a raw coboundary of 2k entries, or a stored reduced column of tens): these few did
// a third of all the reduction work in a 128^3 volume. A sorted vector pays a move of the whole
// column per short addition, a binary heap a cache-missing O(log W) per entry popped. Here the
// column is a sorted run (read from the front as the pivot rises) plus a small lazy heap of
// recent additions (entries present twice have cancelled but leave only when they reach the
// top, as in Ripser), merged into the run once it holds a quarter of it: O(1) amortised moves
// per entry added, and cache-friendly.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>
#include <vector>

#include "uninit_allocator.hpp"

namespace cuph {

template <class K> class WorkingColumn {
 public:
  // Starts from one sorted column of distinct entries.
  void assign(const K* col, size_t n) {
    run_.assign(col, col + n);
    pos_ = 0;
    heap_.clear();
  }

  // Adds a sorted column of distinct entries over Z/2.
  void add(const K* col, size_t n) {
    const size_t live = run_.size() - pos_;
    // Against a run at most 16 times as long, one merge costs less than the heap's pushes, pops
    // and flush (8 -> 16: the reductions of 3-D and 4-D noise -1..3%).
    if (n * 16 >= live) {
      merge_into_run(col, n);
      return;
    }
    for (size_t j = 0; j < n; ++j) {
      heap_.push_back(col[j]);
      std::push_heap(heap_.begin(), heap_.end(), std::greater<K>());
    }
    if (heap_.size() > 64 + live / 4) flush();
  }

  // Removes and returns the smallest entry with odd multiplicity; false if the column is zero.
  bool pop_pivot(K& pivot) {
    for (;;) {
      const bool in_run = pos_ < run_.size();
      if (!in_run && heap_.empty()) return false;
      K x = in_run ? run_[pos_] : heap_.front();
      if (!heap_.empty() && heap_.front() < x) x = heap_.front();
      unsigned count = 0;
      if (in_run && run_[pos_] == x) { ++pos_; ++count; }
      while (!heap_.empty() && heap_.front() == x) {
        std::pop_heap(heap_.begin(), heap_.end(), std::greater<K>());
        heap_.pop_back();
        ++count;
      }
      if (count & 1) {
        pivot = x;
        return true;
      }
    }
  }

  // f(entry) for the likely next pivots (the run's next two entries, the heap's top), so that
  // the caller can start loading what it will read about them.
  template <class F> void for_each_next(F&& f) const {
    if (pos_ < run_.size()) f(run_[pos_]);
    if (pos_ + 1 < run_.size()) f(run_[pos_ + 1]);
    if (!heap_.empty()) f(heap_.front());
  }

  // Appends the remaining entries, ascending and distinct, to out.
  void drain(std::vector<K>& out) {
    flush();
    out.insert(out.end(), run_.begin() + std::ptrdiff_t(pos_), run_.end());
    run_.clear();
    pos_ = 0;
  }

 private:
  // The heap, sorted with pairs cancelled, merged into the run.
  void flush() {
    if (heap_.empty()) return;
    std::sort(heap_.begin(), heap_.end());
    size_t kept = 0;
    for (size_t i = 0; i < heap_.size();) {
      size_t j = i + 1;
      while (j < heap_.size() && heap_[j] == heap_[i]) ++j;
      if ((j - i) & 1) heap_[kept++] = heap_[i];
      i = j;
    }
    heap_.resize(kept);
    sorted_.swap(heap_);
    heap_.clear();
    merge_into_run(sorted_.data(), sorted_.size());
  }
  // run[pos:] + col over Z/2 (both sorted, distinct): a merge that drops common entries.
  // Branch-free: which side is smaller is a coin flip on noise. A common entry is written and
  // then overwritten (k does not advance).
  void merge_into_run(const K* col, size_t n) {
    const size_t na = run_.size();
    merged_.resize(na - pos_ + n);
    const K* a = run_.data();
    K* out = merged_.data();
    size_t i = pos_, j = 0, k = 0;
    while (i < na && j < n) {
      const K x = a[i], y = col[j];
      out[k] = x < y ? x : y;
      k += x != y;
      i += x <= y;
      j += y <= x;
    }
    for (; i < na; ++i) out[k++] = a[i];
    for (; j < n; ++j) out[k++] = col[j];
    merged_.resize(k);
    run_.swap(merged_);
    pos_ = 0;
  }

  // The run and its merge buffer (swapped) are sized before they are written: uninitialised.
  std::vector<K, UninitAllocator<K>> run_, merged_;
  std::vector<K> heap_, sorted_;
  size_t pos_ = 0;  // run_[0, pos_) has been popped
};

}  // namespace cuph
