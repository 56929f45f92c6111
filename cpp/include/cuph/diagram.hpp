// Raw persistence pairs of one item, as generator ranks; the batch layer turns them into the
// structure-of-arrays result (values and flat indices) once ranks are no longer needed.
#pragma once
#include <cstdint>
#include <type_traits>
#include <vector>

#include "array_view.hpp"
#include "uninit_allocator.hpp"

namespace cuph {

// Generators are named by 32 bits (an item has fewer than 2^32 - 1 generators, padding
// included: check_item_size): a rank, a padded index, or the flat-index half of a packed
// (value, flat index) key (see filtration.hpp); each maps back to the flat index of the input
// value. Eight bytes a pair: the pairs of the outer dimensions wait through the whole
// middle-dimension reduction of a 3-D or 4-D item, part of its memory peak.
constexpr uint32_t kEssential = ~uint32_t(0);

struct RawPair {
  uint32_t birth;  // the generator whose value created the class
  uint32_t death;  // the generator whose value killed it, or kEssential
};

// Uninitialised growth: a pass sizes its list for every join before the replay writes pairs.
using PairList = std::vector<RawPair, UninitAllocator<RawPair>>;

template <class T> using ValueList = std::vector<T, UninitAllocator<T>>;

struct ItemPairs {
  PairList dim[5];  // dims 0..4 (D <= 4 uses 0..D-1)
  // Optionally (Options::keep_values), each pair's birth and death values, interleaved, in the
  // result's precision (float32 where that is exact: exact_in_float), read by index_pairs
  // while the item is still in cache. Written later from the input, a batch's pairs read it
  // back from L3 or memory, one random line per value (2048x56x56 smooth maps: most of
  // write_pairs' time). An essential class's death slot is unused. Empty: read the input.
  ValueList<float> value32[5];
  ValueList<double> value64[5];
  template <class T> ValueList<T>& values(int k) {
    if constexpr (std::is_same<T, float>::value) return value32[k];
    else return value64[k];
  }
  template <class T> const ValueList<T>& values(int k) const {
    return const_cast<ItemPairs*>(this)->values<T>(k);
  }
};

// Whether float32 holds every value of a dtype exactly: then a result's values are float32
// (Python's engine.output_dtype makes the same choice).
inline bool exact_in_float(DType t) {
  return t == DType::f16 || t == DType::f32 || t == DType::b8 || t == DType::i8 ||
         t == DType::i16 || t == DType::u8 || t == DType::u16;
}

}  // namespace cuph
