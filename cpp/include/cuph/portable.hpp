// What lets one kernel body run on a GPU and on CPU threads: CUPH_HD marks a function for both,
// and the few atomics the bodies use go through this wrapper (CUDA atomics on the device, GCC's
// __atomic builtins on the host: the same read-modify-write as C++20's std::atomic_ref, which
// the C++17 core cannot name). Also here: the bit-level conversions that the core's value
// reader (array_view.hpp) and the kernels (cuda/*.cuh) share.
//
// A body is called once per element index by a launcher: the CUDA launcher (cuda/launch.cu)
// from a grid-stride loop, the CPU launcher (cuda/host.hpp) from a plain loop. Bodies of one launch
// may run in any order and at the same time, so they share memory only through these atomics
// or by writing disjoint elements; anything that needs every element of a launch done is a
// separate launch.
#pragma once
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define CUPH_HD __host__ __device__
#else
#define CUPH_HD
#endif

namespace cuph {
namespace gpu {

// *p += v; returns the old value.
CUPH_HD inline uint32_t atomic_add(uint32_t* p, uint32_t v) {
#if defined(__CUDA_ARCH__)
  return atomicAdd(p, v);
#else
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
#endif
}

// If *p == expected, *p = desired; returns the old value.
CUPH_HD inline uint32_t atomic_cas(uint32_t* p, uint32_t expected, uint32_t desired) {
#if defined(__CUDA_ARCH__)
  return atomicCAS(p, expected, desired);
#else
  __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return expected;  // the old value either way
#endif
}

// A read of memory that other bodies of the launch may write (with the atomics above): past
// the SM's L1 on the device, a relaxed atomic load on the host.
CUPH_HD inline uint32_t atomic_load(const uint32_t* p) {
#if defined(__CUDA_ARCH__)
  return __ldcg(p);
#else
  return __atomic_load_n(p, __ATOMIC_RELAXED);
#endif
}

// *p = v, seen by atomic_load.
CUPH_HD inline void atomic_store(uint32_t* p, uint32_t v) {
#if defined(__CUDA_ARCH__)
  __stcg(p, v);
#else
  __atomic_store_n(p, v, __ATOMIC_RELAXED);
#endif
}

// *p = min(*p, v).
CUPH_HD inline void atomic_min(uint64_t* p, uint64_t v) {
#if defined(__CUDA_ARCH__)
  atomicMin(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
#else
  uint64_t old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (v < old &&
         !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
#endif
}

}  // namespace gpu

CUPH_HD inline float float_from_bits(uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(b);
#else
  float f;
  std::memcpy(&f, &b, 4);
  return f;
#endif
}

// Order-preserving words of IEEE bit patterns, for the core's sort keys (array_view.hpp's
// Sortable) and the kernels' value words (cuda/input.cuh): negative values reversed below the
// positive ones. -0.0 takes the word of +0.0: the two are equal values, so their order is that
// of their indices, as for every other tie. NaN is each caller's to reject.
CUPH_HD inline uint32_t float_word(uint32_t bits) {
  if (bits == 0x80000000u) bits = 0;
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}
CUPH_HD inline uint32_t half_word(uint16_t bits) {
  if (bits == 0x8000u) bits = 0;
  return (bits & 0x8000u) ? uint32_t(uint16_t(~bits)) : uint32_t(bits | 0x8000u);
}
// NaN tests on bit patterns: a flag such as -ffast-math in a user's CXXFLAGS folds std::isnan
// and v != v to false, and a NaN let through breaks every order the engines rely on.
CUPH_HD inline bool half_is_nan(uint16_t bits) {
  return (bits & 0x7c00u) == 0x7c00u && (bits & 0x3ffu);
}
CUPH_HD inline bool float_bits_nan(uint32_t bits) { return (bits & 0x7fffffffu) > 0x7f800000u; }
CUPH_HD inline bool double_bits_nan(uint64_t bits) {
  return (bits & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
}
CUPH_HD inline bool is_nan(double v) {
#if defined(__CUDA_ARCH__)
  return double_bits_nan(uint64_t(__double_as_longlong(v)));
#else
  uint64_t b;
  std::memcpy(&b, &v, 8);
  return double_bits_nan(b);
#endif
}

// IEEE binary16 -> binary32 by bit manipulation (no compiler half type needed).
CUPH_HD inline float half_to_float(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      exp = 127 - 15 + 1;
      while (!(mant & 0x400u)) { mant <<= 1; --exp; }
      bits = sign | (exp << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  return float_from_bits(bits);
}

}  // namespace cuph
