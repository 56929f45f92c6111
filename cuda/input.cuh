// The input batch as the kernels read it, in place: any byte strides (negative and zero too),
// every dtype of the core, numbered as array_view.hpp's DType. On the GPU this is device memory
// (a torch or cupy array through __cuda_array_interface__, or a host array copied there).
#pragma once
#include <cstdint>

#include "cuph/portable.hpp"

namespace cuph {
namespace gpu {

struct Input {
  const char* base = nullptr;  // the first item's origin
  int dtype = 0;
  int nbatch = 0;
  int64_t bshape[8] = {}, bstride[8] = {};  // batch axes and their byte strides
  int ndim = 0;                             // item axes (at most 4)
  int64_t shape[4] = {1, 1, 1, 1}, stride[4] = {};
  int64_t item0 = 0;  // the first item of this launch (a chunk of a larger batch)
};
enum : int { kF16, kF32, kF64, kI8, kI16, kI32, kI64, kU8, kU16, kU32, kU64, kB8 };

// The element at C-order flat index `flat` of item `item` (flat over the batch axes).
CUPH_HD inline const char* element(const Input& in, int64_t item, int64_t flat) {
  const char* at = in.base;
  for (int i = in.ndim - 1; i >= 0; --i) {
    at += (flat % in.shape[i]) * in.stride[i];
    flat /= in.shape[i];
  }
  item += in.item0;
  for (int i = in.nbatch - 1; i >= 0; --i) {
    at += (item % in.bshape[i]) * in.bstride[i];
    item /= in.bshape[i];
  }
  return at;
}

template <class T> CUPH_HD inline T load_as(const char* at) {
  return *reinterpret_cast<const T*>(at);
}
CUPH_HD inline double read_value(int dtype, const char* at) {
  switch (dtype) {
    case kF16: return double(half_to_float(load_as<uint16_t>(at)));
    case kF32: return double(load_as<float>(at));
    case kF64: return load_as<double>(at);
    case kI8: return double(load_as<int8_t>(at));
    case kI16: return double(load_as<int16_t>(at));
    case kI32: return double(load_as<int32_t>(at));
    case kI64: return double(load_as<int64_t>(at));
    case kU8: return double(load_as<uint8_t>(at));
    case kU16: return double(load_as<uint16_t>(at));
    case kU32: return double(load_as<uint32_t>(at));
    case kU64: return double(load_as<uint64_t>(at));
    default: return double(load_as<uint8_t>(at) != 0);
  }
}
// Whether the kernels make the value words of a dtype themselves (32 bits or fewer); wider
// ones need a range or a sort first (host.hpp, item_words).
CUPH_HD inline bool has_word(int dtype) {
  return dtype != kF64 && dtype != kI64 && dtype != kU64;
}
// An order-preserving 32-bit word of the value at `at` (a dtype with has_word); false for NaN.
// Floats as the core's Sortable keys (portable.hpp's float_word, half_word): ties between -0.0
// and +0.0 go by index like any other tie.
CUPH_HD inline bool value_word(int dtype, const char* at, uint32_t& w) {
  switch (dtype) {
    case kF16: {
      const uint16_t h = load_as<uint16_t>(at);
      if (half_is_nan(h)) return false;
      w = half_word(h);
      return true;
    }
    case kF32: {
      const uint32_t b = load_as<uint32_t>(at);
      if (float_bits_nan(b)) return false;
      w = float_word(b);
      return true;
    }
    case kI8: w = uint32_t(int32_t(load_as<int8_t>(at))) ^ 0x80000000u; return true;
    case kI16: w = uint32_t(int32_t(load_as<int16_t>(at))) ^ 0x80000000u; return true;
    case kI32: w = uint32_t(load_as<int32_t>(at)) ^ 0x80000000u; return true;
    case kU8: w = load_as<uint8_t>(at); return true;
    case kU16: w = load_as<uint16_t>(at); return true;
    case kU32: w = load_as<uint32_t>(at); return true;
    default: w = load_as<uint8_t>(at) != 0; return true;
  }
}

}  // namespace gpu
}  // namespace cuph
