// Certified float32 lower bounds of squared Euclidean distances, so that Prim can skip the exact
// float64 evaluation of every pair that cannot improve a key.
//
// Dense Prim over a point cloud evaluates all n^2/2 distances, but only the few that lower a
// candidate's key matter (about ln n per vertex). A float32 distance costs half an exact float64
// one (twice the SIMD lanes); with a rigorous error bound it says "this pair cannot be below the
// key" for nearly every pair, and the exact kernel runs only for the rest. The tree and every
// reported value stay bit-identical to the exact path: a pair is skipped only when its exact
// float64 value is provably >= the key, where the exact path would not update either.
//
// The bound, for points a, b in R^k (float64) and m the cloud's mean:
// - centred float32 coordinates x = fl32(fl64(a - m)) differ from a - m by at most
//   E_a = (u32 + 2 u64) ||a - m|| + sqrt(k) 2^-150 in norm (rounding, and float32 underflow), so
//   d = ||a - b|| >= ||x_a - x_b|| - E_a - E_b;
// - the float32 sum s of squared float32 differences (any summation order, FMA or not) obeys
//   |s - ||x_a - x_b||^2| <= gamma_{k+2} ||x_a - x_b||^2 + k 2^-149, gamma_j = j u / (1 - j u)
//   (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., sec. 3.1 and 4.2; the
//   differences of floats are exact or relatively rounded, the absolute term covers underflow);
// - the exact path's float64 sum K of squared differences obeys K >= d^2 (1 - gamma64_{k+2})
//   minus k 2^-1073 (underflow), so K >= lower(s) below.
// Centring keeps ||a - m|| small for clouds far from the origin (where E would dominate). Clouds
// whose centred norms could overflow float32 sums are not filtered (`usable` is false).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <vector>

#include "sq_distance_lanes.hpp"
#include "uninit_allocator.hpp"

namespace cuph {
namespace mst {

#ifdef CUPH_HAVE_AVX2_KERNEL
// Squared float32 distances from a[0..R) to b[0..C) (rows padded with zeros to a multiple of 8
// floats): out[r][c].
template <int R, int C>
__attribute__((target("avx2,fma"))) inline void euclid_sq_f32(const float* const* a,
                                                               const float* const* b,
                                                               int64_t k8, float (&out)[R][C]) {
  __m256 s[R][C];
  sq_distance_lanes<F32Lanes, R, C>(a, b, k8, s);
  for (int r = 0; r < R; ++r) {
    if constexpr (C == 4) {  // four horizontal sums at once
      const __m256 ab = _mm256_hadd_ps(s[r][0], s[r][1]), cd = _mm256_hadd_ps(s[r][2], s[r][3]);
      const __m256 abcd = _mm256_hadd_ps(ab, cd);
      _mm_storeu_ps(out[r],
                    _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1)));
    } else {
      for (int c = 0; c < C; ++c) {
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, s[r][c]);
        float sum = 0;
        for (float v : lanes) sum += v;
        out[r][c] = sum;
      }
    }
  }
}
#endif

// Lower bounds (float32) of the exact path's squared distances, by rows: row(i, j0, j1, out)
// fills out[j] <= K(i, j) for j in [j0, j1) and row2 two rows at once (the tile protocol of
// fill_matrix). Needs AVX2 (`usable` is false without it).
class EuclidLowerBound {
 public:
  // Filtering pays where the exact kernel is expensive (many coordinates); below 16 the rows
  // are mostly zero padding. A conservative floor, not a tuned one.
  static constexpr int64_t kMinDims = 16;

  EuclidLowerBound(const double* x, int64_t n, int64_t k) : n_(n), k_(k), k8_((k + 7) / 8 * 8) {
#ifdef CUPH_HAVE_AVX2_KERNEL
    if (!cpu_has_avx2() || k < kMinDims || n < 2) return;
    constexpr double u32 = 0x1p-24, u64 = 0x1p-53;
    const double kk = double(k) + 2.0;
    if (kk * u32 > 0.01) return;  // gamma would be useless
    std::vector<double> mean(size_t(k), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = 0; c < k; ++c) mean[size_t(c)] += x[i * k + c];
    for (double& v : mean) v /= double(n);
    x32_.resize(size_t(n * k8_) + 8);
    // 32-byte aligned rows: offset into the buffer at the first aligned float.
    const uintptr_t p = reinterpret_cast<uintptr_t>(x32_.data());
    off_ = int64_t(((p + 31) & ~uintptr_t(31)) - p) / int64_t(sizeof(float));
    err_.resize(size_t(n));
    double rmax = 0;
    for (int64_t i = 0; i < n; ++i) {
      float* row = x32_.data() + off_ + i * k8_;
      double r2 = 0;
      for (int64_t c = 0; c < k; ++c) {
        const double v = x[i * k + c] - mean[size_t(c)];
        row[c] = float(v);
        r2 += v * v;
      }
      std::fill(row + k, row + k8_, 0.0f);
      // r bounds ||a - m||: the computed norm of the rounded differences, inflated for their
      // rounding (u64 each) and the sum's (gamma64_k) and square root's.
      const double r = std::sqrt(r2) * (1 + (double(k) + 4) * u64) + 1e-300;
      if (!(r < 1e18)) {  // also an overflowed (inf or NaN) norm
        x32_.clear();
        return;
      }
      rmax = std::max(rmax, r);
      err_[size_t(i)] = ((u32 + 2 * u64) * r + std::sqrt(double(k)) * 0x1p-150) * (1 + 1e-12);
    }
    // Sums of squares stay below 4 rmax^2 (1 + gamma): far from float32 overflow (rmax < 1e18).
    const double g32 = kk * u32 / (1 - kk * u32), g64 = kk * u64 / (1 - kk * u64);
    shrink_ = (1 - g32) * (1 - 1e-12);  // <= 1 / (1 + gamma32), with room for rounding here
    tiny32_ = double(k8_) * 0x1p-149;
    // (1 - gamma64) for the exact path, (1 - 2^-21) so that rounding to float32 never goes up,
    // and room for the few roundings of lower() itself.
    scale_ = (1 - g64) * (1 - 0x1p-21) * (1 - 1e-12);
    tiny64_ = double(k) * 0x1p-1073;
    usable_ = true;
#else
    (void)x;
#endif
  }

  bool usable() const { return usable_; }

  // A lower bound of K from the float32 sum s of the pair (i, j).
  float lower(float s, int64_t i, int64_t j) const {
    const double t = std::max(0.0, double(s) - tiny32_) * shrink_;
    const double dl = std::sqrt(t) - (err_[size_t(i)] + err_[size_t(j)]);
    if (!(dl > 0)) return 0.0f;
    const double lb = dl * dl * scale_ - tiny64_;
    return lb < 1e-37 ? 0.0f : float(lb);  // below float32's normal range: 0 is a safe bound
  }

#ifdef CUPH_HAVE_AVX2_KERNEL
  void row(int64_t i, int64_t j0, int64_t j1, float* out) const {
    const float* a[1] = {rowp(i)};
    float s[1][4];
    int64_t j = j0;
    for (; j + 4 <= j1; j += 4) {
      const float* b[4] = {rowp(j), rowp(j + 1), rowp(j + 2), rowp(j + 3)};
      euclid_sq_f32<1, 4>(a, b, k8_, s);
      lower4(s[0], i, j, out + j);
    }
    for (; j < j1; ++j) {
      const float* b[1] = {rowp(j)};
      float s1[1][1];
      euclid_sq_f32<1, 1>(a, b, k8_, s1);
      out[j] = lower(s1[0][0], i, j);
    }
  }
  void row2(int64_t i, int64_t j0, int64_t j1, float* out0, float* out1) const {
    const float* a[2] = {rowp(i), rowp(i + 1)};
    float s[2][4];
    int64_t j = j0;
    for (; j + 4 <= j1; j += 4) {
      const float* b[4] = {rowp(j), rowp(j + 1), rowp(j + 2), rowp(j + 3)};
      euclid_sq_f32<2, 4>(a, b, k8_, s);
      lower4(s[0], i, j, out0 + j);
      lower4(s[1], i + 1, j, out1 + j);
    }
    if (j < j1) {
      row(i, j, j1, out0);
      row(i + 1, j, j1, out1);
    }
  }

  // lower() of the pairs (i, j..j+3), four lanes at once.
  __attribute__((target("avx2,fma"))) void lower4(const float* s, int64_t i, int64_t j,
                                                   float* out) const {
    const __m256d zero = _mm256_setzero_pd();
    const __m256d t = _mm256_mul_pd(
        _mm256_max_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm_loadu_ps(s)), _mm256_set1_pd(tiny32_)),
                      zero),
        _mm256_set1_pd(shrink_));
    const __m256d e = _mm256_add_pd(_mm256_set1_pd(err_[size_t(i)]), _mm256_loadu_pd(&err_[size_t(j)]));
    const __m256d dl = _mm256_sub_pd(_mm256_sqrt_pd(t), e);
    const __m256d lb = _mm256_sub_pd(_mm256_mul_pd(_mm256_mul_pd(dl, dl), _mm256_set1_pd(scale_)),
                                     _mm256_set1_pd(tiny64_));
    // keep lb where dl > 0 and lb >= 1e-37, else 0
    const __m256d keep = _mm256_and_pd(_mm256_cmp_pd(dl, zero, _CMP_GT_OQ),
                                       _mm256_cmp_pd(lb, _mm256_set1_pd(1e-37), _CMP_GE_OQ));
    _mm_storeu_ps(out, _mm256_cvtpd_ps(_mm256_and_pd(lb, keep)));
  }
#else
  void row(int64_t, int64_t, int64_t, float*) const {}
  void row2(int64_t, int64_t, int64_t, float*, float*) const {}
#endif

 private:
  const float* rowp(int64_t i) const { return x32_.data() + off_ + i * k8_; }

  int64_t n_, k_, k8_;
  int64_t off_ = 0;
  std::vector<float, UninitAllocator<float>> x32_;
  std::vector<double> err_;
  double shrink_ = 0, tiny32_ = 0, scale_ = 0, tiny64_ = 0;
  bool usable_ = false;
};

}  // namespace mst
}  // namespace cuph
