// The AVX2 squared-distance kernel of Vietoris-Rips H0, for float64 (the exact distances) and
// float32 (the filter's lower bounds, euclid_bound.hpp): one template over the lane type.
//
// sq_distance_lanes<L, R, C> accumulates, lane by lane, (a_r - b_c)^2 for R rows against C
// columns over the chunks of [0, end): R * C independent FMA chains, R + C loads per chunk.
// Each accumulator adds its chunks in order, so the float64 kernels of every block size give
// identical bits (mst.hpp relies on it: the matrix fill and the one-pair kernel agree).
#pragma once
#include <cstdint>
#include <cstdlib>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(CUPH_NO_AVX2)
#include <immintrin.h>
#define CUPH_HAVE_AVX2_KERNEL 1
#endif

namespace cuph {
namespace mst {

#ifdef CUPH_HAVE_AVX2_KERNEL
// The AVX2 kernels run when the CPU has AVX2 and FMA, unless the environment variable
// CUPH_DISABLE_AVX2 is set (read once; lets tests exercise the portable kernels).
inline bool cpu_has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                          std::getenv("CUPH_DISABLE_AVX2") == nullptr;
  return yes;
}

struct F64Lanes {
  using T = double;
  using V = __m256d;
  static constexpr int kWidth = 4;
  __attribute__((target("avx2,fma"))) static V zero() { return _mm256_setzero_pd(); }
  __attribute__((target("avx2,fma"))) static V load(const T* p) { return _mm256_loadu_pd(p); }
  __attribute__((target("avx2,fma"))) static V add_sq_diff(V x, V y, V s) {
    const V t = _mm256_sub_pd(x, y);
    return _mm256_fmadd_pd(t, t, s);
  }
};

struct F32Lanes {
  using T = float;
  using V = __m256;
  static constexpr int kWidth = 8;
  __attribute__((target("avx2,fma"))) static V zero() { return _mm256_setzero_ps(); }
  __attribute__((target("avx2,fma"))) static V load(const T* p) { return _mm256_loadu_ps(p); }
  __attribute__((target("avx2,fma"))) static V add_sq_diff(V x, V y, V s) {
    const V t = _mm256_sub_ps(x, y);
    return _mm256_fmadd_ps(t, t, s);
  }
};

// s[r][c] = lane sums of (a[r][k] - b[c][k])^2 over k in [0, end), end a multiple of the width.
template <class L, int R, int C>
__attribute__((target("avx2,fma"))) inline void sq_distance_lanes(
    const typename L::T* const* a, const typename L::T* const* b, int64_t end,
    typename L::V (&s)[R][C]) {
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) s[r][c] = L::zero();
  for (int64_t k = 0; k < end; k += L::kWidth) {
    typename L::V x[R];
    for (int r = 0; r < R; ++r) x[r] = L::load(a[r] + k);
    for (int c = 0; c < C; ++c) {
      const typename L::V y = L::load(b[c] + k);
      for (int r = 0; r < R; ++r) s[r][c] = L::add_sq_diff(x[r], y, s[r][c]);
    }
  }
}
#endif

}  // namespace mst
}  // namespace cuph
