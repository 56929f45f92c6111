// Raw persistence pairs of one item, as generator ranks; the batch layer turns them into the
// structure-of-arrays result (values and flat indices) once ranks are no longer needed.
#pragma once
#include <cstdint>
#include <vector>

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

struct ItemPairs {
  PairList dim[5];  // dims 0..4 (D <= 4 uses 0..D-1)
};

}  // namespace cuph
