#pragma once
// Exact proportional shares in integers.

#include <cstdint>

namespace kepler {

/// floor(value × numerator ÷ denominator) without overflow (128-bit intermediate); the parts
/// of a whole computed this way never add up to more than the whole. `denominator` > 0.
inline uint64_t scale(uint64_t value, uint64_t numerator, uint64_t denominator) {
  __extension__ using wide = unsigned __int128;
  return static_cast<uint64_t>(static_cast<wide>(value) * numerator / denominator);
}

}  // namespace kepler
