// A typed, strided, read-only view of one item of the user's array, and the conversion of its
// values to order-preserving unsigned keys. Reading through strides (negative and zero included)
// is what lets the bindings accept any numpy view without copying it.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "check.hpp"
#include "errors.hpp"
#include "portable.hpp"

namespace cuph {

enum class DType : int { f16, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64, b8 };

struct Half { uint16_t bits; };

// Maps a value to an unsigned integer with the same order; NaN is reported by the caller.
template <class T> struct Sortable;
template <> struct Sortable<Half> {
  static uint64_t key(Half v) { return half_word(v.bits); }
  static bool is_nan(Half v) { return half_is_nan(v.bits); }
};
template <> struct Sortable<float> {
  static uint64_t key(float v) {
    uint32_t b; std::memcpy(&b, &v, 4);
    return float_word(b);
  }
  static bool is_nan(float v) {
    uint32_t b; std::memcpy(&b, &v, 4);
    return float_bits_nan(b);
  }
};
template <> struct Sortable<double> {
  static uint64_t key(double v) {
    uint64_t b; std::memcpy(&b, &v, 8);
    if (b == 0x8000000000000000ull) b = 0;  // -0.0: the key of +0.0 (see float_word)
    return (b & 0x8000000000000000ull) ? ~b : (b | 0x8000000000000000ull);
  }
  static bool is_nan(double v) { return cuph::is_nan(v); }
};
template <class T> struct Sortable {  // integers and bool
  static uint64_t key(T v) {
    if constexpr (std::is_signed<T>::value)
      return uint64_t(int64_t(v)) ^ 0x8000000000000000ull;
    else
      return uint64_t(v);
  }
  static bool is_nan(T) { return false; }
};

template <class T> inline double to_double(T v) { return double(v); }
template <> inline double to_double<Half>(Half v) { return double(half_to_float(v.bits)); }

// Strided view of one item: D axes, byte strides (may be negative or zero).
struct ItemView {
  const char* base = nullptr;
  DType dtype = DType::f64;
  int ndim = 0;
  int64_t shape[4] = {1, 1, 1, 1};
  int64_t strides[4] = {0, 0, 0, 0};

  int64_t size() const {
    int64_t n = 1;
    for (int i = 0; i < ndim; ++i) n *= shape[i];
    return n;
  }
  // Byte offset of a C-order flat index.
  int64_t offset_of(int64_t flat) const {
    CUPH_ASSERT(flat >= 0 && flat < size());
    int64_t off = 0;
    for (int i = ndim - 1; i >= 0; --i) {
      off += (flat % shape[i]) * strides[i];
      flat /= shape[i];
    }
    return off;
  }
};

// Calls f with a tag of the C++ element type of dtype.
template <class F> decltype(auto) dispatch_dtype(DType t, F&& f) {
  switch (t) {
    case DType::f16: return f(Half{});
    case DType::f32: return f(float{});
    case DType::f64: return f(double{});
    case DType::i8: return f(int8_t{});
    case DType::i16: return f(int16_t{});
    case DType::i32: return f(int32_t{});
    case DType::i64: return f(int64_t{});
    case DType::u8: return f(uint8_t{});
    case DType::u16: return f(uint16_t{});
    case DType::u32: return f(uint32_t{});
    case DType::u64: return f(uint64_t{});
    case DType::b8: return f(bool{});
  }
  throw std::logic_error("cuph: unknown dtype");
}

template <class T> inline T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Reads values of type T by C-order flat index; contiguous items (the common case) skip the
// index arithmetic of offset_of.
template <class T> class ValueReader {
 public:
  explicit ValueReader(const ItemView& v) : v_(v) {
    int64_t expect = int64_t(sizeof(T));
    for (int i = v.ndim - 1; i >= 0; --i) {
      if (v.shape[i] != 1 && v.strides[i] != expect) contiguous_ = false;
      expect *= v.shape[i];
    }
  }
  double operator()(int64_t flat) const {
    CUPH_ASSERT(flat >= 0 && flat < v_.size());
    return to_double(load<T>(v_.base + (contiguous_ ? flat * int64_t(sizeof(T)) : v_.offset_of(flat))));
  }

 private:
  const ItemView& v_;
  bool contiguous_ = true;
};

// Fills keys[j] (j = C-order flat index) with order-preserving keys of the item's values;
// `negate` reverses the order (superlevel filtrations).
inline void load_keys(const ItemView& v, bool negate, uint64_t* keys) {
  const int64_t n = v.size();
  dispatch_dtype(v.dtype, [&](auto tag) {
    using T = decltype(tag);
    // Odometer over the leading axes; the innermost axis is a tight strided loop.
    const int d = v.ndim;
    const int64_t inner = v.shape[d - 1], inner_stride = v.strides[d - 1];
    int64_t idx[4] = {0, 0, 0, 0};
    int64_t j = 0;
    while (j < n) {
      const char* row = v.base;
      for (int i = 0; i < d - 1; ++i) row += idx[i] * v.strides[i];
      for (int64_t k = 0; k < inner; ++k, ++j) {
        const T x = load<T>(row + k * inner_stride);
        if (Sortable<T>::is_nan(x)) throw NanError(j);
        const uint64_t key = Sortable<T>::key(x);
        keys[j] = negate ? ~key : key;
      }
      for (int i = d - 2; i >= 0; --i) {
        if (++idx[i] < v.shape[i]) break;
        idx[i] = 0;
      }
    }
  });
}

template <class Keys> void load_keys(const ItemView& v, bool negate, Keys& keys) {
  keys.resize(size_t(v.size()));
  load_keys(v, negate, keys.data());
}

}  // namespace cuph
