// Where one 3-D/4-D item's time goes, phase by phase (ranks, union-find with the sweep of
// dimension 1, the sweeps of higher dimensions, reduce), on one thread: the same calls as
// compute_item in persistence.hpp, timed separately.
//
//   g++ -O3 -std=c++17 -DNDEBUG -Icpp/include bench/phases.cpp -o /tmp/phases
//   python -c "import numpy as np, scipy.ndimage as nd; nd.gaussian_filter(
//     np.random.default_rng(0).random((64,56,56)), 2).tofile('/tmp/s.raw')"
//   /tmp/phases /tmp/s.raw 64 56 56 [reps] [x V|T]      (4-D: the 4th axis as "x")
//   PHASES_THREADS=2 /tmp/phases ...                      (one item split over 2 threads)
//
// The input is raw float64, C order. Times are medians over reps, in ms.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include "cuph/persistence.hpp"

using namespace cuph;
using Clock = std::chrono::steady_clock;

static int threads() {
  const char* t = std::getenv("PHASES_THREADS");
  return t ? std::max(1, std::atoi(t)) : 1;
}

struct Phases {
  std::vector<double> rank, uf, sweep, reduce;
};

static double ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

template <int D, Construction C> void run(const ItemView& item, int reps) {
  Phases ph;
  size_t pairs[D] = {};
  size_t hard_total = 0;
  for (int r = 0; r < reps; ++r) {
    CancelToken cancel;
    ItemPairs res;
    const PaddedShape<D> pad(item.shape);
    auto t0 = Clock::now();
    std::vector<uint64_t> keys;
    load_keys(item, false, keys);
    const KeyRange range = key_range(keys);
    const Ranking ranking = rank_keys<D>(keys, range, pad);
    const Grid<D, C> g(item.shape, &ranking, pad);
    auto t1 = Clock::now();
    // Dimension 1's sweep runs inside the union-find's (persistence.hpp): counted there.
    Bitset positive(g.n_slot_ids(D - 1));
    std::unique_ptr<CoboundaryReducer<D, C>> reducer(new CoboundaryReducer<D, C>(g, 1, false));
    std::unique_ptr<Bitset> next(D >= 4 ? new Bitset(g.n_cell_ids(2)) : nullptr);
    reducer->start_fused(next.get());
    union_find_passes(g, ranking.rank.data(), false, &res.dim[0], &res.dim[D - 1], &positive, threads(),
                      cancel, reducer.get());
    auto t2 = Clock::now();
    double sweep = 0, reduce = 0;
    std::unique_ptr<Bitset> clear;
    for (int k = 1; k <= D - 2; ++k) {
      auto s0 = Clock::now();
      size_t hard;
      if (k == 1) {
        hard = reducer->finish_fused(res.dim[1]);
      } else {
        reducer.reset(new CoboundaryReducer<D, C>(g, k, false));
        next.reset(k + 1 <= D - 2 ? new Bitset(g.n_cell_ids(k + 1)) : nullptr);
        hard = reducer->sweep(*clear, next.get(), res.dim[k], threads(), cancel);
      }
      hard_total += hard;
      std::unique_ptr<Bitset> births;
      if (k < D - 2 && hard + reducer->n_local() > size_t(g.n_gen) / 8) {
        births.reset(new Bitset(g.n_slot_ids(k + 1)));
        CoboundaryReducer<D, C>(g, k + 1, false).mark_local_births(*births, threads(), cancel);
      }
      auto s1 = Clock::now();
      reducer->reduce(k == D - 2 ? &positive : births.get(), false, next.get(), res.dim[k], cancel,
                      threads());
      auto s2 = Clock::now();
      sweep += ms(s0, s1);
      reduce += ms(s1, s2);
      clear = std::move(next);
    }
    ph.rank.push_back(ms(t0, t1));
    ph.uf.push_back(ms(t1, t2));
    ph.sweep.push_back(sweep);
    ph.reduce.push_back(reduce);
    for (int k = 0; k < D; ++k) pairs[k] = res.dim[k].size();
  }
  auto med = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double a = med(ph.rank), b = med(ph.uf), c = med(ph.sweep), d = med(ph.reduce);
  std::printf("ranks %.2f  union-find (+ sweep 1) %.2f  sweeps 2.. %.2f  reduce %.2f  total %.2f ms\n",
              a, b, c, d, a + b + c + d);
  std::printf("raw pairs per dim:");
  for (int k = 0; k < D; ++k) std::printf(" %zu", pairs[k]);
  std::printf("   columns left to reduce (per rep): %zu\n", hard_total / size_t(reps));
}

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s file.raw n0 n1 n2 [reps] [n3 V|T]\n", argv[0]);
    return 2;
  }
  int64_t shape[4] = {std::atoll(argv[2]), std::atoll(argv[3]), std::atoll(argv[4]), 1};
  const int reps = argc > 5 ? std::atoi(argv[5]) : 5;
  int d = 3;
  if (argc > 6) {
    shape[3] = std::atoll(argv[6]);
    d = shape[3] > 1 ? 4 : 3;
  }
  const bool top = argc > 7 && argv[7][0] == 'T';
  int64_t n = shape[0] * shape[1] * shape[2] * shape[3];
  std::vector<double> data(static_cast<size_t>(n));
  std::ifstream f(argv[1], std::ios::binary);
  f.read(reinterpret_cast<char*>(data.data()), std::streamsize(n * 8));
  if (!f) {
    std::fprintf(stderr, "cannot read %lld float64 from %s\n", (long long)n, argv[1]);
    return 2;
  }
  ItemView item;
  item.base = reinterpret_cast<const char*>(data.data());
  item.dtype = DType::f64;
  item.ndim = d;
  int64_t stride = 8;
  for (int i = d - 1; i >= 0; --i) {
    item.shape[i] = shape[i];
    item.strides[i] = stride;
    stride *= shape[i];
  }
  if (d == 3)
    top ? run<3, Construction::T>(item, reps) : run<3, Construction::V>(item, reps);
  else
    top ? run<4, Construction::T>(item, reps) : run<4, Construction::V>(item, reps);
  return 0;
}
