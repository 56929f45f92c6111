// The tree labels of the GPU engine's 3-D/4-D kernels (cuda/cubical_nd.cuh, spanning_forest.cuh)
// under contention: after each exact flattening launch (the forest's, and every Boruvka round's
// jump) every node's label must be a root, since the candidates and the rounds compare labels
// as tree names (one launch of path halving with a last write of the root, bodies of one item
// racing, left a few dozen stale ancestors per million nodes). Launcher blocks of one element
// on several threads make neighbouring nodes' bodies run at once.
//
//   forest_labels SIDE THREADS REPS
// prints "exact launches K stale M" (M: labels that are not roots after an exact launch);
// exit status 0 iff K > 0 and M == 0.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <type_traits>
#include <vector>

#include "cuda/host.hpp"

using namespace cuph::gpu;

static size_t exact_launches = 0, exact_stale = 0;

template <class Labels> size_t stale(const Labels& at, int64_t n, int64_t nodes) {
  size_t bad = 0;
  for (int64_t e = 0; e < n; ++e) {
    const uint32_t* p = at(e);
    const uint32_t v = uint32_t(e % nodes);
    bad += p[p[v]] != p[v];
  }
  return bad;
}

// The CPU launcher, checking the labels after every flattening launch.
struct Checking : CpuLauncher {
  using CpuLauncher::CpuLauncher;
  template <class Body> void launch(const char* what, int64_t n, const Body& body) {
    CpuLauncher::launch(what, n, body);
    if constexpr (std::is_same<Body, Flatten>::value) {
      const int64_t nodes = body.b.nodes();
      for (int q = 0; q < body.b.passes; ++q) {
        const size_t bad = stale([&](int64_t e) { return body.b.parent[q] + (e / nodes) * nodes; },
                                 n, nodes);
        if (body.exact) exact_stale += bad;
      }
      exact_launches += body.exact;
    }
    if constexpr (std::is_same<Body, MsfJump>::value) {
      const int64_t nodes = body.m.b.nodes();
      const size_t bad = stale([&](int64_t e) { return body.m.comp + (e / nodes) * nodes; }, n,
                               nodes);
      if (body.exact) exact_stale += bad;
      exact_launches += body.exact;
    }
  }
};

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const int64_t n = std::atoll(argv[1]);
  const int threads = std::atoi(argv[2]), reps = std::atoi(argv[3]);
  cpu_launch_block() = 1;  // neighbouring nodes on different threads
  std::mt19937 g(7);
  for (int rep = 0; rep < reps; ++rep) {
    const int d = 3 + rep % 2;
    const int64_t side = d == 3 ? n : n / 2;
    int64_t shape[4] = {side, side, side, d == 4 ? side : 1};
    int64_t count = 1;
    for (int i = 0; i < d; ++i) count *= shape[i];
    // Long descents (a bowl, so the trees are deep) with noise on top (many trees).
    std::vector<float> x(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
      float r2 = 0;
      for (int64_t k = i, a = d - 1; a >= 0; --a, k /= side) r2 += float((k % side) * (k % side));
      x[size_t(i)] = r2 + std::uniform_real_distribution<float>(0, rep % 3 == 0 ? 0.5f : 50.f)(g);
    }
    Input in;
    in.base = reinterpret_cast<const char*>(x.data());
    in.dtype = kF32;
    in.ndim = d;
    for (int i = d - 1, stride = 4; i >= 0; stride *= int(shape[i]), --i) {
      in.shape[i] = shape[i];
      in.stride[i] = stride;
    }
    const TablesN t = make_tables_nd(d, shape, rep % 4 < 2 ? cuph::Construction::V
                                                          : cuph::Construction::T, d - 1);
    Checking l(threads);
    RunResult r;
    std::vector<int8_t> dim;
    std::vector<double> birth, death;
    std::vector<int64_t> bi, di;
    auto sink = [&](uint64_t rows, const std::vector<uint32_t>&) {
      dim.resize(rows), birth.resize(rows), death.resize(rows), bi.resize(rows), di.resize(rows);
      Rows out;
      out.at.dim = dim.data(), out.at.birth = birth.data(), out.at.death = death.data();
      out.at.birth_index = bi.data(), out.at.death_index = di.data();
      out.direct = true;
      return out;
    };
    run_nd(l, t, in, false, nullptr, 1, ReplayOptions{}, sink, r);
  }
  std::printf("exact launches %zu stale %zu\n", exact_launches, exact_stale);
  return exact_launches > 0 && exact_stale == 0 ? 0 : 1;
}
