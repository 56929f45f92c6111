// Random small items of 1-4 dimensions, run under valgrind's memcheck by tests/test_memcheck.py:
// the core's uninitialised buffers (UninitVector, pooled result columns) must never be read
// before they are written, which AddressSanitizer cannot see. Each case also checks that 3
// threads give one thread's results, item by item (compute_item_into) and for a batch of three
// items (compute_batch: result pool, assembly, float32/float64 value columns). Every fourth
// iteration adds a graph (graph_persistence) and a point cloud (mst::h0_batch: every metric,
// the float32 bound filter, the matrix and on-the-fly paths, a team of threads inside Prim).
//
//   memcheck_driver SEED ITERATIONS SHARED_REDUCTION_COLUMNS SCALE
//
// SCALE multiplies the largest extent (1-D: its square). Prints "cases N mismatches M" and
// exits 1 on a mismatch.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "cuph/batch.hpp"
#include "cuph/graph_persistence.hpp"
#include "cuph/mst.hpp"
#include "cuph/persistence.hpp"

using namespace cuph;

static bool same_pairs(const ItemPairs& a, const ItemPairs& b) {
  for (int k = 0; k < 4; ++k) {
    if (a.dim[k].size() != b.dim[k].size()) return false;
    for (size_t i = 0; i < a.dim[k].size(); ++i)
      if (a.dim[k][i].birth != b.dim[k][i].birth || a.dim[k][i].death != b.dim[k][i].death)
        return false;
  }
  return true;
}

template <class V> static bool same(const V& a, const V& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(a[0])) == 0);
}

static bool same_batch(const BatchResult& a, const BatchResult& b) {
  return a.single == b.single && same(a.dim, b.dim) && same(a.birth, b.birth) &&
         same(a.death, b.death) && same(a.birth32, b.birth32) && same(a.death32, b.death32) &&
         same(a.birth_index, b.birth_index) && same(a.death_index, b.death_index) &&
         same(a.offsets, b.offsets);
}

// A random graph on integer vertex values: 1 and 3 threads.
static bool graph_case(std::mt19937_64& rng) {
  const int64_t n = 1 + int64_t(rng() % 3000), m = int64_t(rng() % uint64_t(3 * n));
  std::vector<double> values(static_cast<size_t>(n));
  for (double& v : values) v = double(rng() % 5);
  std::vector<int64_t> edges(size_t(2 * m));
  for (int64_t& e : edges) e = int64_t(rng() % uint64_t(n));
  ItemView vals;
  vals.base = reinterpret_cast<const char*>(values.data());
  vals.dtype = DType::f64;
  vals.ndim = 1;
  vals.shape[0] = n;
  vals.strides[0] = 8;
  EdgeView ev;
  ev.base = reinterpret_cast<const char*>(edges.data());
  ev.m = m;
  ev.row_stride = 16;
  ev.col_stride = 8;
  CancelToken c1, c2;
  return same_pairs(graph_persistence(vals, ev, 1, false, true, 1, c1),
                    graph_persistence(vals, ev, 1, false, true, 3, c2));
}

// H0 of two clouds of integer points (ties, duplicates): 1 and 3 threads (one cloud with a team
// of 3 in Prim when it has at least 128 points).
static bool cloud_case(std::mt19937_64& rng, int it) {
  const int64_t n = 2 + int64_t(rng() % 250), d = (it / 4) % 2 ? 20 : 3;
  std::vector<double> x(size_t(2 * n * d));
  for (double& v : x) v = double(rng() % 4);
  const mst::Metric metric = mst::Metric((it / 8) % 3);
  const std::vector<mst::CloudView> two = {{x.data(), n, d, metric}, {x.data() + n * d, n, d, metric}};
  const std::vector<mst::CloudView> one(two.begin(), two.begin() + 1);
  const double threshold = (it / 24) % 2 ? 2.5 : INFINITY;
  const int64_t limit = (it / 12) % 2 ? 0 : int64_t(1) << 30;
  bool ok = true;
  for (const auto* clouds : {&one, &two}) {
    const mst::H0Batch a = mst::h0_batch(*clouds, threshold, true, 1, nullptr, limit);
    const mst::H0Batch b = mst::h0_batch(*clouds, threshold, true, 3, nullptr, limit);
    ok &= same(a.death, b.death) && same(a.birth_index, b.birth_index) &&
          same(a.death_index, b.death_index) && same(a.offsets, b.offsets);
  }
  return ok;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s SEED ITERATIONS SHARED_REDUCTION_COLUMNS SCALE\n", argv[0]);
    return 2;
  }
  std::mt19937_64 rng(std::strtoull(argv[1], nullptr, 10));
  const int iterations = std::atoi(argv[2]);
  shared_reduction_columns().store(size_t(std::atoi(argv[3])));
  const int64_t scale = std::atoi(argv[4]);
  const int64_t cap[5] = {0, 300 * scale * scale, 40 * scale, 14 * scale, 6 * scale};
  int cases = 0, bad = 0;
  for (int it = 0; it < iterations; ++it) {
    const int nd = 1 + it % 4;
    int64_t n = 1, shape[4] = {1, 1, 1, 1};
    for (int i = 0; i < nd; ++i) {
      shape[i] = 1 + int64_t(rng() % uint64_t(cap[nd]));
      n *= shape[i];
    }
    const uint64_t levels = (const uint64_t[]){2, 3, 7, 1000000}[(it / 4) % 4];  // ties
    const int kind = (it / 16) % 3;                                              // f64, f32, i32
    const int64_t size = kind == 0 ? 8 : 4;
    std::vector<char> data(size_t(3 * n * size));
    for (int64_t j = 0; j < 3 * n; ++j) {
      const int v = int(rng() % levels);
      char* at = &data[size_t(j * size)];
      if (kind == 0) { const double d = v; std::memcpy(at, &d, 8); }
      if (kind == 1) { const float f = float(v); std::memcpy(at, &f, 4); }
      if (kind == 2) { const int32_t x = v; std::memcpy(at, &x, 4); }
    }
    BatchView batch;
    batch.item.base = data.data();
    batch.item.dtype = kind == 0 ? DType::f64 : kind == 1 ? DType::f32 : DType::i32;
    batch.item.ndim = nd;
    int64_t stride = size;
    for (int i = nd - 1; i >= 0; --i) {
      batch.item.shape[i] = shape[i];
      batch.item.strides[i] = stride;
      stride *= shape[i];
    }
    batch.nbatch = 1;
    batch.bshape[0] = 3;
    batch.bstrides[0] = n * size;
    for (int c = 0; c < 2; ++c)
      for (bool keep_diagonal : {false, true}) {
        Options opt;
        opt.construction = c ? Construction::T : Construction::V;
        opt.superlevel = (it / 2) % 2;
        opt.keep_values = it % 3 == 0;
        CancelToken c1, c2;
        ItemPairs a, b;
        compute_item_into(a, batch.item, opt, keep_diagonal, c1, 1);
        compute_item_into(b, batch.item, opt, keep_diagonal, c2, 3);
        bad += !same_pairs(a, b);
        opt.keep_values = false;
        bad += !same_batch(compute_batch(batch, opt, keep_diagonal, 1, nullptr),
                           compute_batch(batch, opt, keep_diagonal, 3, nullptr));
        cases += 2;
      }
    if (it % 4 == 3) {
      bad += !graph_case(rng);
      bad += !cloud_case(rng, it);
      cases += 2;
    }
  }
  std::printf("cases %d mismatches %d\n", cases, bad);
  return bad != 0;
}
