// Dimension 0 of Vietoris-Rips persistence: the minimum spanning tree (forest, with a finite
// threshold) of the complete graph on a point cloud, by dense Prim.
//
// - O(n^2) distance evaluations, each pair exactly once, O(n) memory: for point input the
//   distances are computed on the fly from the coordinates (float64); a precomputed distance
//   matrix is read directly.
// - Exact for any input: the multiset of MST edge lengths does not depend on how ties are
//   broken, so duplicate points (zero-length edges) and equal distances need no special care.
//   Ties are broken by the candidate's vertex index, which makes the tree itself (and hence
//   birth_index/death_index) deterministic and independent of the thread count.
// - A batch of clouds is spread over threads (one cloud per thread); a large single cloud is
//   split over a small team of threads inside each Prim step (the distance updates and the
//   min-reduction over the candidate array run on contiguous ranges of the candidates).
// - Cancellation is polled between Prim steps.
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "cancel.hpp"
#include "euclid_bound.hpp"
#include "sq_distance_lanes.hpp"
#include "threads.hpp"

namespace cuph {
namespace mst {

enum class Metric { Euclidean, Manhattan, Chebyshev, Precomputed };

// One cloud: either n points of dimension d (row-major, contiguous float64) or an n x n
// row-major distance matrix (contiguous float64, symmetric, zero diagonal: checked by the
// caller).
struct CloudView {
  const double* data = nullptr;
  int64_t n = 0;
  int64_t d = 0;
  Metric metric = Metric::Euclidean;
};

// The H0 pairs of one cloud: births are 0 (every vertex is born at 0). A finite pair is an MST
// edge (u, v) where v joined the tree through u: birth_index = v*n + v (the vertex whose class
// dies), death_index = min(u,v)*n + max(u,v) (the edge, flat index into the n x n distance
// matrix). An essential class (one per connected component) has birth_index = r*n + r for the
// component's first vertex r and death_index = -1.
struct H0Result {
  std::vector<double> death;
  std::vector<int64_t> birth_index, death_index;
};

// ------------------------------------------------------------------ distance kernels
inline double euclid_sq_scalar(const double* a, const double* b, int64_t d) {
  // Eight independent accumulators: lets the compiler vectorise without -ffast-math.
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 8 <= d; k += 8)
    for (int l = 0; l < 8; ++l) {
      const double t = a[k + l] - b[k + l];
      acc[l] += t * t;
    }
  for (; k < d; ++k) {
    const double t = a[k] - b[k];
    acc[0] += t * t;
  }
  return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

#ifdef CUPH_HAVE_AVX2_KERNEL
// Summation order (shared by the one-pair, four-pair and eight-pair kernels, so all give
// identical bits): one accumulator of 4 lanes over the 4-wide chunks in order, the lanes
// added as (l0 + l2) + (l1 + l3), then the scalar tail. Independent chains come from
// computing several pairs at once (the tiled matrix fill), not from splitting one sum.
__attribute__((target("avx2,fma"))) inline double avx2_finish(__m256d s, const double* a,
                                                              const double* b, int64_t k,
                                                              int64_t d) {
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, s);
  double acc = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
  for (; k < d; ++k) {
    const double t = a[k] - b[k];
    acc += t * t;
  }
  return acc;
}

// Squared distances from a[0..R) to b[0..C): out[r][c] (sq_distance_lanes, then the tails).
template <int R, int C>
__attribute__((target("avx2,fma"))) inline void euclid_sq_avx2(const double* const* a,
                                                                const double* const* b, int64_t d,
                                                                double (&out)[R][C]) {
  __m256d s[R][C];
  const int64_t end = d - d % 4;
  sq_distance_lanes<F64Lanes, R, C>(a, b, end, s);
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c) out[r][c] = avx2_finish(s[r][c], a[r], b[c], end, d);
}

__attribute__((target("avx2,fma"))) inline double euclid_sq_avx2(const double* a, const double* b,
                                                                  int64_t d) {
  double out[1][1];
  euclid_sq_avx2<1, 1>(&a, &b, d, out);
  return out[0][0];
}
#endif

inline double manhattan(const double* a, const double* b, int64_t d) {
  double acc[4] = {0, 0, 0, 0};
  int64_t k = 0;
  for (; k + 4 <= d; k += 4)
    for (int l = 0; l < 4; ++l) acc[l] += std::fabs(a[k + l] - b[k + l]);
  for (; k < d; ++k) acc[0] += std::fabs(a[k] - b[k]);
  return (acc[0] + acc[2]) + (acc[1] + acc[3]);
}

inline double chebyshev(const double* a, const double* b, int64_t d) {
  double m = 0;
  for (int64_t k = 0; k < d; ++k) m = std::max(m, std::fabs(a[k] - b[k]));
  return m;
}

// ------------------------------------------------------------------ a team of threads
// Runs fn(t) for t in [0, size) with t = 0 on the calling thread, many times, with helpers that
// wait between jobs (spin briefly, then yield, then sleep on a condition variable), so a Prim
// step costs microseconds of synchronisation instead of a thread start.
class Team {
 public:
  explicit Team(int size) : size_(std::max(1, size)) {
    for (int t = 1; t < size_; ++t) helpers_.emplace_back([this, t] { loop(t); });
  }
  ~Team() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_.store(true);
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& th : helpers_) th.join();
  }
  Team(const Team&) = delete;
  Team& operator=(const Team&) = delete;
  int size() const { return size_; }

  void run(const std::function<void(int)>& fn) {
    if (size_ == 1) {
      fn(0);
      return;
    }
    job_ = &fn;
    pending_.store(size_ - 1, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    fn(0);
    for (unsigned spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin)
      if (spin > 256) std::this_thread::yield();
    job_ = nullptr;
  }

 private:
  void loop(int t) {
    uint64_t seen = 0;
    for (;;) {
      unsigned spin = 0;
      uint64_t g;
      while ((g = generation_.load(std::memory_order_acquire)) == seen) {
        if (++spin < 2048) continue;
        if (spin < 4096) {
          std::this_thread::yield();
          continue;
        }
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      }
      seen = g;
      if (stop_.load()) return;
      (*job_)(t);
      pending_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  int size_;
  std::vector<std::thread> helpers_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int)>* job_ = nullptr;
  std::mutex mutex_;
  std::condition_variable wake_;
};

// ------------------------------------------------------------------ Prim
namespace detail {

struct Best {
  double key;
  int64_t vertex;
  int64_t slot;
};

inline bool better(const Best& a, const Best& b) {
  return a.key < b.key || (a.key == b.key && a.vertex < b.vertex);
}

// Update keys of the candidates in [lo, hi) with their distance to u; return the best one.
// dist(u, v, key) is the exact distance when that is below key, and otherwise any value >= key
// (which lets a filter skip pairs that cannot lower the key).
template <class Dist>
Best update_range(Dist& dist, int64_t u, const int64_t* vert, double* key, int64_t* parent,
                  int64_t lo, int64_t hi) {
  Best best{std::numeric_limits<double>::infinity(), std::numeric_limits<int64_t>::max(), -1};
  for (int64_t j = lo; j < hi; ++j) {
    const int64_t v = vert[j];
    const double dd = dist(u, v, key[j]);
    if (dd < key[j]) {
      key[j] = dd;
      parent[j] = u;
    }
    if (key[j] < best.key || (key[j] == best.key && v < best.vertex)) best = {key[j], v, j};
  }
  return best;
}

template <class Dist>
void prim(int64_t n, Dist dist, double cost_per_distance, double threshold, Team* team,
          CancelToken& cancel, H0Result& out) {
  out.death.reserve(size_t(n));
  out.birth_index.reserve(size_t(n));
  out.death_index.reserve(size_t(n));
  // Candidates (vertices not yet in the forest), compacted by swap-remove.
  std::vector<int64_t> vert(static_cast<size_t>(n)), parent(static_cast<size_t>(n), -1);
  std::vector<double> key(static_cast<size_t>(n), std::numeric_limits<double>::infinity());
  for (int64_t i = 0; i < n; ++i) vert[size_t(i)] = i;
  int64_t m = n;
  const int team_size = team ? team->size() : 1;
  std::vector<Best> partial(static_cast<size_t>(team_size));
  // Vertex 0 starts the first component.
  auto remove = [&](int64_t slot) {
    --m;
    vert[size_t(slot)] = vert[size_t(m)];
    key[size_t(slot)] = key[size_t(m)];
    parent[size_t(slot)] = parent[size_t(m)];
  };
  int64_t u = vert[0];
  out.death.push_back(std::numeric_limits<double>::infinity());
  out.birth_index.push_back(u * n + u);
  out.death_index.push_back(-1);
  remove(0);
  int64_t step = 0;
  while (m > 0) {
    if ((++step & 63) == 0) cancel.check();
    Best best;
    // A team only pays off when a step has enough work.
    const bool split = team_size > 1 && double(m) * cost_per_distance > 16384.0;
    if (split) {
      const int64_t mm = m;
      const std::function<void(int)> job = [&](int t) {
        const int64_t lo = mm * t / team_size, hi = mm * (t + 1) / team_size;
        partial[size_t(t)] = update_range(dist, u, vert.data(), key.data(), parent.data(), lo, hi);
      };
      team->run(job);
      best = partial[0];
      for (int t = 1; t < team_size; ++t)
        if (partial[size_t(t)].slot >= 0 && (best.slot < 0 || better(partial[size_t(t)], best)))
          best = partial[size_t(t)];
    } else {
      best = update_range(dist, u, vert.data(), key.data(), parent.data(), 0, m);
    }
    const int64_t v = best.vertex;
    if (!(best.key <= threshold)) {
      // No edge within the threshold leaves the current forest: v starts a new component.
      out.death.push_back(std::numeric_limits<double>::infinity());
      out.birth_index.push_back(v * n + v);
      out.death_index.push_back(-1);
    } else {
      const int64_t p = parent[size_t(best.slot)];
      out.death.push_back(best.key);
      out.birth_index.push_back(v * n + v);
      out.death_index.push_back(std::min(p, v) * n + std::max(p, v));
    }
    remove(best.slot);
    u = v;
  }
}

}  // namespace detail

namespace detail {

struct EuclidSq {
  double operator()(const double* a, const double* b, int64_t d) const { return euclid_sq_scalar(a, b, d); }
};
struct Manhattan {
  double operator()(const double* a, const double* b, int64_t d) const { return manhattan(a, b, d); }
};
struct Chebyshev {
  double operator()(const double* a, const double* b, int64_t d) const { return chebyshev(a, b, d); }
};

// Distances between rows of a point array: dist(u, v), and row(i, j0, j1, out) filling
// out[j] = dist(i, j) for j in [j0, j1).
template <class K> struct PointDist {
  const double* x;
  int64_t d;
  double operator()(int64_t u, int64_t v) const { return K()(x + u * d, x + v * d, d); }
  void row(int64_t i, int64_t j0, int64_t j1, double* out) const {
    for (int64_t j = j0; j < j1; ++j) out[j] = (*this)(i, j);
  }
  void row2(int64_t i, int64_t j0, int64_t j1, double* out0, double* out1) const {
    row(i, j0, j1, out0);
    row(i + 1, j0, j1, out1);
  }
};

#ifdef CUPH_HAVE_AVX2_KERNEL
struct Avx2Euclid {
  const double* x;
  int64_t d;
  double operator()(int64_t u, int64_t v) const { return euclid_sq_avx2(x + u * d, x + v * d, d); }
  void row(int64_t i, int64_t j0, int64_t j1, double* out) const {
    const double* a[1] = {x + i * d};
    double s[1][4];
    int64_t j = j0;
    for (; j + 4 <= j1; j += 4) {
      const double* b[4] = {x + j * d, x + (j + 1) * d, x + (j + 2) * d, x + (j + 3) * d};
      euclid_sq_avx2<1, 4>(a, b, d, s);
      for (int c = 0; c < 4; ++c) out[j + c] = s[0][c];
    }
    for (; j < j1; ++j) out[j] = (*this)(i, j);
  }
  // Rows i and i + 1 over [j0, j1) at once.
  void row2(int64_t i, int64_t j0, int64_t j1, double* out0, double* out1) const {
    const double* a[2] = {x + i * d, x + (i + 1) * d};
    double s[2][4];
    int64_t j = j0;
    for (; j + 4 <= j1; j += 4) {
      const double* b[4] = {x + j * d, x + (j + 1) * d, x + (j + 2) * d, x + (j + 3) * d};
      euclid_sq_avx2<2, 4>(a, b, d, s);
      for (int c = 0; c < 4; ++c) {
        out0[j + c] = s[0][c];
        out1[j + c] = s[1][c];
      }
    }
    for (; j < j1; ++j) {
      out0[j] = (*this)(i, j);
      out1[j] = (*this)(i + 1, j);
    }
  }
};
#endif

// The full n x n matrix of dist(i, j), filled tile by tile (two tiles of rows stay in cache while
// all their pairs are computed) and spread over the team. Each pair is computed once with the
// same kernel as the on-the-fly path, so both paths give identical values.
template <class Vec, class Dist>
void fill_matrix(int64_t n, const Dist& dist, Team* team, CancelToken& cancel, Vec& out) {
  using T = typename Vec::value_type;
  // Every off-diagonal entry is written below (so an uninitialised vector is not read).
  out.resize(static_cast<size_t>(n) * static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[size_t(i * n + i)] = T(0);
  constexpr int64_t B = 32;
  const int64_t nb = (n + B - 1) / B;
  const int64_t n_tiles = nb * (nb + 1) / 2;
  std::atomic<int64_t> next{0};
  std::atomic<bool> stop{false};
  T* D = out.data();
  const std::function<void(int)> job = [&](int) {
    CancelToken tc = cancel.fork();
    int64_t I = 0, row_end = nb;  // tile k -> (I, J) with I <= J, walking rows of tiles
    int64_t row_start = 0;
    for (;;) {
      const int64_t k = next.fetch_add(1);
      if (k >= n_tiles || stop.load(std::memory_order_relaxed)) return;
      while (k >= row_end) {  // advance (monotone: k only grows per thread)
        ++I;
        row_start = row_end;
        row_end += nb - I;
      }
      const int64_t J = I + (k - row_start);
      try {
        tc.check();
      } catch (...) {
        stop = true;
        return;
      }
      const int64_t i1 = std::min(n, (I + 1) * B), j1 = std::min(n, (J + 1) * B);
      int64_t i = I * B;
      if (I < J)  // off-diagonal tile: every pair is needed, two rows at a time
        for (; i + 2 <= i1; i += 2) dist.row2(i, J * B, j1, D + i * n, D + (i + 1) * n);
      for (; i < i1; ++i) {
        const int64_t j0 = std::max(J * B, i + 1);
        if (j0 < j1) dist.row(i, j0, j1, D + i * n);
      }
      for (i = I * B; i < i1; ++i)
        for (int64_t j = std::max(J * B, i + 1); j < j1; ++j) D[j * n + i] = D[i * n + j];
    }
  };
  if (team)
    team->run(job);
  else
    job(0);
  cancel.check();
}

// Prim over a point cloud, by the first path that applies:
// - `bound` usable and its float32 n x n matrix fits: the matrix of lower bounds, filled tile by
//   tile, and exact distances only for the pairs whose bound is below the candidate's key;
// - the float64 n x n matrix fits: filled tile by tile, then read;
// - otherwise every distance on the fly, in O(n) memory.
// All give identical values and trees.
template <class Dist>
void prim_points(int64_t n, Dist dist, const EuclidLowerBound* bound, double cost,
                 double threshold, Team* team, CancelToken& cancel, int64_t matrix_limit_bytes,
                 H0Result& out) {
  const double cells = double(n) * double(n);
  if (bound && bound->usable() && cells * sizeof(float) <= double(matrix_limit_bytes)) {
    std::vector<float, UninitAllocator<float>> L;
    fill_matrix(n, *bound, team, cancel, L);
    const float* lb = L.data();
    auto filtered = [lb, n, &dist](int64_t u, int64_t v, double key) {
      return double(lb[u * n + v]) >= key ? key : dist(u, v);
    };
    prim(n, filtered, 1.0, threshold, team, cancel, out);
  } else if (cells * sizeof(double) <= double(matrix_limit_bytes)) {
    std::vector<double> D;
    fill_matrix(n, dist, team, cancel, D);
    const double* x = D.data();
    auto read = [x, n](int64_t u, int64_t v, double) { return x[u * n + v]; };
    prim(n, read, 1.0, threshold, team, cancel, out);
  } else {
    auto direct = [&dist](int64_t u, int64_t v, double) { return dist(u, v); };
    prim(n, direct, cost, threshold, team, cancel, out);
  }
}

}  // namespace detail

// Calls f(dist, squared) with the distance functor of the cloud's metric (the AVX2 kernel where
// the CPU has it) for point clouds; `squared` says that dist gives squared Euclidean distances
// (monotone in the distance; callers take square roots only where a length is reported). Every
// consumer goes through here, so an edge gets the same value in every dimension and path.
template <class F>
void with_point_metric(const CloudView& c, F&& f) {
  const double* x = c.data;
  const int64_t d = c.d;
  switch (c.metric) {
    case Metric::Euclidean:
#ifdef CUPH_HAVE_AVX2_KERNEL
      if (cpu_has_avx2()) {
        f(detail::Avx2Euclid{x, d}, true);
        return;
      }
#endif
      f(detail::PointDist<detail::EuclidSq>{x, d}, true);
      return;
    case Metric::Manhattan: f(detail::PointDist<detail::Manhattan>{x, d}, false); return;
    case Metric::Chebyshev: f(detail::PointDist<detail::Chebyshev>{x, d}, false); return;
    case Metric::Precomputed: break;
  }
  throw std::logic_error("with_point_metric: a precomputed matrix has no point metric");
}

// The H0 pairs of one cloud (see H0Result). `team` may be null (single-threaded). Point clouds
// whose n x n float64 distance matrix fits in `matrix_limit_bytes` get that matrix computed
// first, tile by tile (cache-friendly: Prim's on-the-fly path re-reads every remaining point at
// each step, which is memory-bound for large d); larger clouds use the O(n)-memory on-the-fly
// path. Both give identical values.
inline H0Result h0_cloud(const CloudView& c, double threshold, Team* team, CancelToken& cancel,
                         int64_t matrix_limit_bytes = int64_t(1) << 28) {
  H0Result out;
  if (c.n <= 0) return out;
  const int64_t n = c.n;
  if (c.metric == Metric::Precomputed) {
    const double* x = c.data;
    auto dist = [x, n](int64_t u, int64_t v, double) { return x[u * n + v]; };
    detail::prim(n, dist, 1.0, threshold, team, cancel, out);
    return out;
  }
  with_point_metric(c, [&](auto dist, bool squared) {
    double thr = threshold;
    if (squared) {
      // Keys are squared distances; thr is the largest double whose square root is <= threshold,
      // so that a key passes exactly when its reported length sqrt(key) does.
      thr = threshold * threshold;
      if (std::isfinite(thr)) {
        const double inf = std::numeric_limits<double>::infinity();
        while (std::sqrt(thr) > threshold) thr = std::nextafter(thr, -inf);
        while (std::sqrt(std::nextafter(thr, inf)) <= threshold) thr = std::nextafter(thr, inf);
      }
    }
    // The float32 filter serves the Euclidean metric (squared distances) on AVX2 machines.
    std::unique_ptr<EuclidLowerBound> bound;
    if (squared && c.metric == Metric::Euclidean &&
        double(n) * double(n) * sizeof(float) <= double(matrix_limit_bytes))
      bound.reset(new EuclidLowerBound(c.data, n, c.d));
    detail::prim_points(n, dist, bound.get(), double(c.d), thr, team, cancel, matrix_limit_bytes,
                        out);
    if (squared)
      for (double& v : out.death) v = std::sqrt(v);
  });
  return out;
}

// The full n x n float64 distance matrix of a point cloud, with the kernels of h0_cloud (what
// giotto-ph receives for dimensions >= 1, so that its filtration is the float32 rounding of
// exactly the lengths cuph reports).
inline void distance_matrix(const CloudView& c, Team* team, CancelToken& cancel,
                            std::vector<double>& out) {
  with_point_metric(c, [&](auto dist, bool squared) {
    detail::fill_matrix(c.n, dist, team, cancel, out);
    if (squared)
      for (double& v : out) v = std::sqrt(v);
  });
}

// Lengths of the edges (u[k], v[k]) of a point cloud with the same kernels as h0_cloud, so an
// edge gets the same value in every homology dimension.
inline void edge_lengths(const CloudView& c, const int64_t* u, const int64_t* v, int64_t m,
                         double* out) {
  if (c.metric == Metric::Precomputed) {
    for (int64_t k = 0; k < m; ++k) out[k] = c.data[u[k] * c.n + v[k]];
    return;
  }
  with_point_metric(c, [&](auto dist, bool squared) {
    for (int64_t k = 0; k < m; ++k) out[k] = squared ? std::sqrt(dist(u[k], v[k])) : dist(u[k], v[k]);
  });
}

struct H0Batch {
  std::vector<double> death;
  std::vector<int64_t> birth_index, death_index, offsets;
};

// H0 of every cloud of a batch. Clouds are spread over n_threads threads; when there are fewer
// clouds than threads, each cloud's Prim steps are split over a team of the spare threads.
// Zero-length pairs (duplicate points) are dropped unless keep_diagonal. Within a cloud, rows
// are sorted by (death, death_index), essential classes last.
// `memory_limit_bytes` bounds the distance matrices the workers hold at the same time (split
// evenly between them); clouds whose matrix does not fit use the O(n)-memory path.
inline H0Batch h0_batch(const std::vector<CloudView>& clouds, double threshold, bool keep_diagonal,
                        int n_threads, const std::atomic<bool>* cancel_flag,
                        int64_t memory_limit_bytes = int64_t(1) << 30) {
  const int64_t n_items = int64_t(clouds.size());
  std::vector<H0Result> res(clouds.size());
  n_threads = std::max(1, n_threads);
  const int outer = int(std::max<int64_t>(1, std::min<int64_t>(n_threads, n_items)));
  const int inner = std::max(1, n_threads / outer);
  const int64_t matrix_limit = memory_limit_bytes / outer;
  const FirstFailure failure = for_each_item(n_items, outer, cancel_flag, [&]() {
    return [&, team = std::unique_ptr<Team>()](int64_t i, CancelToken& cancel) mutable {
      const CloudView& c = clouds[size_t(i)];
      Team* t = nullptr;
      if (inner > 1 && c.n >= 128) {
        if (!team) team.reset(new Team(inner));
        t = team.get();
      }
      res[size_t(i)] = h0_cloud(c, threshold, t, cancel, matrix_limit);
    };
  });
  if (failure.error) failure.error.raise();

  H0Batch out;
  out.offsets.reserve(size_t(n_items) + 1);
  out.offsets.push_back(0);
  std::vector<size_t> order;
  for (int64_t i = 0; i < n_items; ++i) {
    H0Result& r = res[size_t(i)];
    order.resize(r.death.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      if (r.death[a] != r.death[b]) return r.death[a] < r.death[b];
      const bool ea = r.death_index[a] < 0, eb = r.death_index[b] < 0;
      if (ea || eb) return r.birth_index[a] < r.birth_index[b];
      return r.death_index[a] < r.death_index[b];
    });
    int64_t count = 0;
    for (size_t k : order) {
      if (!keep_diagonal && r.death[k] == 0.0) continue;
      out.death.push_back(r.death[k]);
      out.birth_index.push_back(r.birth_index[k]);
      out.death_index.push_back(r.death_index[k]);
      ++count;
    }
    out.offsets.push_back(out.offsets.back() + count);
    r = H0Result();
  }
  return out;
}

}  // namespace mst
}  // namespace cuph
