// Raw persistence pairs of one item, as generator ranks; the batch layer turns them into the
// structure-of-arrays result (values and flat indices) once ranks are no longer needed.
#pragma once
#include <cstdint>
#include <vector>

namespace cuph {

constexpr uint32_t kEssential = ~0u;

struct RawPair {
  uint32_t birth;  // rank of the generator whose value created the class
  uint32_t death;  // rank of the generator whose value killed it, or kEssential
};

struct ItemPairs {
  std::vector<RawPair> dim[5];  // dims 0..4 (D <= 4 uses 0..D-1)
};

}  // namespace cuph
