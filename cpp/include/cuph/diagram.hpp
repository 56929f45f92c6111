// Raw persistence pairs of one item, as generator ranks; the batch layer turns them into the
// structure-of-arrays result (values and flat indices) once ranks are no longer needed.
#pragma once
#include <cstdint>
#include <vector>

namespace cuph {

constexpr uint64_t kEssential = ~uint64_t(0);

// Generators are named by their filtration key: a rank, or a packed (value, flat index) key
// (see filtration.hpp); either maps back to the flat index of the input value.
struct RawPair {
  uint64_t birth;  // key of the generator whose value created the class
  uint64_t death;  // key of the generator whose value killed it, or kEssential
};

struct ItemPairs {
  std::vector<RawPair> dim[5];  // dims 0..4 (D <= 4 uses 0..D-1)
};

}  // namespace cuph
