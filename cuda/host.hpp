// The host side of the kernels (cubical_2d.cuh, betti.cuh), shared by both launchers: the
// tables (copied from the CPU engine's local programs, so both engines make the same local
// decisions), the value words, the array sizes, the CPU launcher, and the pairs back into the
// CPU engine's result assembly. Host-only: compiled by the C++ compiler, never by nvcc.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "betti.cuh"
#include "cubical_2d.cuh"
#include "cubical_nd.cuh"
#include "launch_profile.hpp"
#include "sequence.cuh"
#include "cuph/batch.hpp"
#include "cuph/betti.hpp"
#include "cuph/persistence.hpp"
#include "cuph/union_find.hpp"

namespace cuph {
namespace gpu {

template <bool Dual, Construction C>
void copy_pass(const Grid<2, C>& g, Pass2& out) {
  const UnionFindPass<Dual, 2, C> pass(g);
  if (pass.n_slots() > kSlots2 || pass.n_joins() > kJoins2)
    throw std::logic_error("cuph: a 2-D pass larger than the kernel tables");
  std::memset(&out, 0, sizeof(out));
  for (unsigned m = 0; m < 256; ++m) {
    const LocalProgram<2>& p = pass.program(typename Grid<2, C>::Mask(m));
    Program2& q = out.prog[m];
    q.n_create = p.n_create;
    q.n_act = p.n_act;
    q.n_root = p.n_root;
    for (int i = 0; i < p.n_create; ++i) q.create[i] = p.create[size_t(i)];
    for (int i = 0; i < p.n_root; ++i) q.root[i] = p.root[size_t(i)];
    for (int i = 0; i < p.n_act; ++i) {
      const auto& a = p.act[size_t(i)];
      q.act[i] = {a.critical, a.join, a.src, a.dst};
    }
  }
  for (int s = 0; s < pass.n_slots(); ++s) {
    out.slot_step[s] = pass.step(s);
    out.slot_wit[s] = pass.witness(s);
  }
  for (int j = 0; j < pass.n_joins(); ++j) {
    out.join_a[j] = uint8_t(pass.join_a(size_t(j)));
    out.join_b[j] = uint8_t(pass.join_b(size_t(j)));
  }
  out.dual = Dual;
  out.age_is_key = UnionFindPass<Dual, 2, C>::kAgeIsKey;
}

static_assert(LocalProgram<2>::kMaxSlots == kSlots2 && LocalProgram<2>::kMaxActs == kActs2,
              "the kernel's program layout follows union_find.hpp's");

// The tables for items of shape rows x cols (the steps depend on the padded width).
inline Tables2 make_tables(int64_t rows, int64_t cols, Construction c) {
  Tables2 t;
  std::memset(&t, 0, sizeof(t));
  const int64_t shape[2] = {rows, cols};
  const PaddedShape<2> pad(shape);
  auto fill = [&](auto tag) {
    constexpr Construction C = decltype(tag)::value;
    const Grid<2, C> g(shape, nullptr, pad);
    copy_pass<false>(g, t.pass[0]);
    copy_pass<true>(g, t.pass[1]);
    for (int j = 0; j < 8; ++j) t.nb_step[j] = g.nb_step[size_t(j)];
    t.v = C == Construction::V;
  };
  if (c == Construction::V) fill(std::integral_constant<Construction, Construction::V>());
  else fill(std::integral_constant<Construction, Construction::T>());
  return t;
}

// The tables of cubical_nd.cuh for items of `shape` (d axes): dimension 0, and d-1 when
// maxdim reaches it. Stencils list their forward half (first non-zero step positive) first.
inline TablesN make_tables_nd(int d, const int64_t* shape, Construction c, int maxdim) {
  TablesN t;
  t.d = d;
  for (int i = 0; i < d; ++i) {
    t.shape[i] = shape[i];
    t.size *= shape[i];
  }
  t.passes = maxdim >= d - 1 ? 2 : 1;
  t.groups = maxdim + 1;
  const bool v = c == Construction::V;
  for (int q = 0; q < t.passes; ++q) {
    PassN& p = t.pass[q];
    p.dual = q == 1;
    p.corners = p.dual && v;
    p.dim = q == 0 ? 0 : d - 1;
    p.grid_size = 1;
    for (int i = 0; i < d; ++i) {
      p.grid[i] = p.corners ? shape[i] - 1 : shape[i];
      p.grid_size *= p.grid[i];
    }
    const bool all = !p.dual && !v;  // T, dimension 0: every neighbour that shares a vertex
    std::vector<std::vector<int8_t>> fwd, back;
    int n = 1;
    for (int i = 0; i < d; ++i) n *= 3;
    for (int code = 0; code < n; ++code) {
      std::vector<int8_t> o(size_t(kMaxAxes), 0);
      int nonzero = 0, first = 0;
      for (int i = d - 1, k = code; i >= 0; --i, k /= 3) o[size_t(i)] = int8_t(k % 3 - 1);
      for (int i = 0; i < d; ++i)
        if (o[size_t(i)]) {
          if (!nonzero) first = o[size_t(i)];
          ++nonzero;
        }
      if (!nonzero || (!all && nonzero > 1)) continue;
      (first > 0 ? fwd : back).push_back(o);
    }
    p.n_half = int(fwd.size());
    fwd.insert(fwd.end(), back.begin(), back.end());
    p.n_nb = int(fwd.size());
    for (int j = 0; j < p.n_nb; ++j)
      for (int i = 0; i < kMaxAxes; ++i) p.nb[j][i] = fwd[size_t(j)][size_t(i)];
  }
  return t;
}

// Order-preserving 32-bit words of one item's values (superlevel: of their negatives): the
// values minus the smallest when they span fewer than 2^32 keys (every dtype of at most 32
// bits), else their ranks (ties by flat index, as the packed key breaks them).
template <int D> void ranked_words(std::vector<uint64_t>& keys, KeyRange range, const int64_t* shape,
                                   uint32_t* out) {
  const PaddedShape<D> pad(shape);
  const Ranking r = rank_keys<D>(keys, range, pad);
  pad.for_each([&](int64_t j, int64_t p) { out[j] = r.rank[size_t(p)]; });
}
inline void item_words(const ItemView& v, bool superlevel, uint32_t* out) {
  std::vector<uint64_t> keys;
  load_keys(v, superlevel, keys);
  const KeyRange range = key_range(keys);
  if (range.hi - range.lo <= 0xffffffffull) {
    for (size_t j = 0; j < keys.size(); ++j) out[j] = uint32_t(keys[j] - range.lo);
    return;
  }
  switch (v.ndim) {
    case 1: return ranked_words<1>(keys, range, v.shape, out);
    case 2: return ranked_words<2>(keys, range, v.shape, out);
    case 3: return ranked_words<3>(keys, range, v.shape, out);
    default: return ranked_words<4>(keys, range, v.shape, out);
  }
}

static_assert(int(DType::f16) == kF16 && int(DType::f64) == kF64 && int(DType::i64) == kI64 &&
                  int(DType::u64) == kU64 && int(DType::b8) == kB8,
              "the kernels number dtypes as the core does");

// The kernels' view of a host batch.
inline Input input_of(const BatchView& b) {
  Input in;
  in.base = b.item.base;
  in.dtype = int(b.item.dtype);
  in.nbatch = b.nbatch;
  for (int i = 0; i < b.nbatch; ++i) {
    in.bshape[i] = b.bshape[i];
    in.bstride[i] = b.bstrides[i];
  }
  in.ndim = b.item.ndim;
  for (int i = 0; i < b.item.ndim && i < 4; ++i) {
    in.shape[i] = b.item.shape[i];
    in.stride[i] = b.item.strides[i];
  }
  return in;
}

// Bytes of one item of a C-contiguous host batch: its values' bytes, never a stride (numpy
// gives an axis of length 1 any stride: 0 for the row axis that engine.py gives 1-D items).
inline int64_t host_item_bytes(const BatchView& b) {
  return b.item.size() * dispatch_dtype(b.item.dtype, [](auto t) { return int64_t(sizeof(t)); });
}

// The CPU launcher's stand-in for the CUDA launcher's upload of a host chunk (DeviceCopy): a
// buffer of exactly the chunk's bytes, so that the tests (and the sanitizers) see what the
// kernels read of an uploaded chunk.
class HostCopy {
 public:
  HostCopy(const void* host, size_t n) : bytes_(new char[n ? n : 1]) {
    if (n) std::memcpy(bytes_.get(), host, n);
  }
  const char* data() const { return bytes_.get(); }

 private:
  std::unique_ptr<char[]> bytes_;
};

// The batch in chunks of chunk() items (asked before each): run(first, n, part), `part` reading
// items [first, first + n) in place (item0 = first), or, `on_host`, from a Copy of their bytes
// in a C-contiguous host batch (gpu::DeviceCopy on the CUDA launcher, HostCopy on the CPU's).
template <class Copy, class Chunk, class Run>
void for_each_chunk(const BatchView& b, Chunk chunk, bool on_host, Run run) {
  const Input in = input_of(b);
  const int64_t item_bytes = on_host ? host_item_bytes(b) : 0;
  for (int64_t first = 0, n; first < b.n_items(); first += n) {
    n = std::min(chunk(), b.n_items() - first);
    Input part = in;
    std::unique_ptr<Copy> copy;
    if (on_host) {
      copy.reset(new Copy(in.base + first * item_bytes, size_t(n * item_bytes)));
      part.base = copy->data();
    } else {
      part.item0 = first;
    }
    run(first, n, part);
  }
}

inline std::vector<uint32_t> batch_words(const BatchView& b, bool superlevel, int threads,
                                         const std::atomic<bool>* cancel) {
  const int64_t n = b.n_items(), size = b.item.size();
  std::vector<uint32_t> words(size_t(n * size));
  const FirstFailure failure = for_each_item(n, threads, cancel, [&]() {
    return [&](int64_t i, CancelToken&) { item_words(b.at(i), superlevel, &words[size_t(i * size)]); };
  });
  if (failure.error) throw ItemError{failure.item, failure.error};
  return words;
}

// Bytes of the arrays a batch needs on the device, beyond its words: keys, forests and ages per
// node; per generator and pass at most four critical joins, each with a pair slot and a result
// row (dim, two float64 values, two int64 indices; counted at that bound).
inline size_t batch_bytes(int64_t n_items, int64_t rows, int64_t cols, int passes) {
  static_assert(sizeof(Critical) == 16 && sizeof(Pair) == 24, "the sizes counted below");
  const size_t nodes = size_t((rows + 2) * (cols + 2) + 1) * size_t(n_items);
  const size_t gens = size_t(rows * cols) * size_t(n_items);
  return nodes * (8 + size_t(passes) * (4 + 8)) + gens * size_t(passes) * 4 * (16 + 24 + 33) +
         size_t(n_items) * 64;
}

// Bytes of one item's arrays for cubical_nd.cuh, beyond its input: its words; per node and
// pass its key, forest and the spanning forest's four arrays (36 bytes); per candidate join
// its entry, its forest mark and its half of the copies kept, sorted and written (a join per
// root at most: budgeted at half the candidates). The candidates are counted only after the
// first `candidates` launch, so they are budgeted from white noise, the worst case measured
// (per node: V dimension 0 1.6 in 3-D, 2.3 in 4-D; T dimension 0 2.8 and 5.2; dimension d-1
// 1.2-1.7), with a third to spare; an item beyond it runs out of device memory there, a
// MemoryError that says so.
inline size_t batch_bytes_nd(const TablesN& t) {
  const size_t nodes = size_t(t.size + 1);
  double bytes = double(t.size) * 4 + 64;
  for (int q = 0; q < t.passes; ++q) {
    const PassN& p = t.pass[q];
    const bool all = p.n_nb > 2 * t.d;  // T, dimension 0
    const double per_node = p.dual ? 2.2 : all ? (t.d <= 3 ? 3.7 : 6.9) : (t.d <= 3 ? 2.2 : 3.1);
    bytes += double(nodes) * (12 + 36 + per_node * (16 + 1 + 0.5 * (16 + 24 + 24 + 33)));
  }
  return size_t(bytes);
}

// The CPU launcher: each launch is a loop over its elements, split over threads in blocks;
// bodies of one launch run concurrently, as on a GPU.
// Elements per block (a test switch: `_core._portable_block`): blocks of one or a few elements
// make the threads run bodies of the same item at the same time, as a GPU does, which is what
// exercises the atomics.
inline std::atomic<int64_t>& cpu_launch_block() {
  static std::atomic<int64_t> block{4096};
  return block;
}
template <class Body> void cpu_launch(int64_t n, int threads, Body body) {
  const int64_t kBlock = cpu_launch_block().load(std::memory_order_relaxed);
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  const FirstFailure f = for_each_item(blocks, threads, nullptr, [&]() {
    return [&](int64_t blk, CancelToken&) {
      const int64_t end = std::min(n, (blk + 1) * kBlock);
      for (int64_t e = blk * kBlock; e < end; ++e) body(e);
    };
  });
  if (f.error) f.error.raise();
}

// The replay's switches (sequence.cuh's ReplayOptions) of this module's launches, and the CPU
// launcher's shared memory per block (as a GPU's, so that the same batches take the block
// replay): a test and benchmark switch (`_core._portable_replay`, `_cuda._replay`), with a
// count of the runs that took the block replay.
struct ReplaySwitch {
  std::atomic<bool> blocks{true};
  std::atomic<int> threads{128};
  std::atomic<uint64_t> max_shared{227 * 1024};  // an H100's or H200's opt-in limit per block
  std::atomic<uint64_t> block_runs{0};
  std::atomic<uint64_t> sort_above{1024};  // run_nd's (ReplayOptions)
  std::atomic<uint64_t> network_sorts{0};  // passes that run_nd sorted by the network
  std::atomic<bool> forest{true};           // run_nd's (ReplayOptions)
  std::atomic<uint64_t> candidates{0}, forest_edges{0};  // run_nd's, summed over runs
  ReplayOptions options() const {
    return {blocks.load(), threads.load(), sort_above.load(), forest.load()};
  }
  void count(const RunResult& r) {
    network_sorts += uint64_t(r.network_sorts);
    candidates += r.candidates;
    forest_edges += r.forest_edges;
  }
};
inline ReplaySwitch& replay_switch() {
  static ReplaySwitch s;
  return s;
}

// A NaN found by load_words (element e of the batch) as the CPU engine reports it.
[[noreturn]] inline void throw_nan(uint64_t e, int64_t item_size) {
  throw ItemError{int64_t(e) / item_size, Failure::nan(int64_t(e) % item_size)};
}

// The CPU launcher's primitives for the sequences of sequence.cuh: arrays in host memory,
// launches through cpu_launch.
class CpuLauncher {
 public:
  explicit CpuLauncher(int threads) : threads_(threads) {}
  template <class T> T* alloc(size_t n, const char*) {
    static_assert(alignof(T) <= alignof(uint64_t), "8-byte aligned arrays");
    Step step("alloc");
    arrays_.emplace_back(new uint64_t[(n * sizeof(T) + 7) / 8 + 1]);
    step.done();
    return reinterpret_cast<T*>(arrays_.back().get());
  }
  template <class T> T* filled(size_t n, uint8_t byte, const char* what) {
    T* a = alloc<T>(n, what);
    std::memset(static_cast<void*>(a), byte, n * sizeof(T));
    return a;
  }
  template <class T> T* upload(const T* host, size_t n, const char* what) {
    T* a = alloc<T>(n, what);
    std::memcpy(static_cast<void*>(a), host, n * sizeof(T));
    return a;
  }
  template <class T> void download(T* host, const T* a, size_t n) {
    std::memcpy(static_cast<void*>(host), a, n * sizeof(T));
  }
  template <class Body> void launch(const char* what, int64_t n, const Body& body) {
    Step step(what);
    cpu_launch(n, threads_, [&](int64_t e) { body(e); });
    step.done();
  }
  // A block's threads run one after another within each phase, in increasing order on even
  // blocks and decreasing order on odd ones, over memory filled with a pattern: a phase whose
  // threads read what another thread writes in it, or memory no phase wrote, shows as results
  // that differ from the CPU engine's.
  template <class Body>
  void launch_blocks(const char* what, int64_t n, int threads, uint64_t shared, const Body& body) {
    Step step(what);
    const FirstFailure f = for_each_item(n, threads_, nullptr, [&]() {
      return [&, threads](int64_t blk, CancelToken&) {
        thread_local std::vector<uint64_t> memory;
        memory.assign(size_t((shared + 7) / 8), 0xa5a5a5a5a5a5a5a5ull);
        for (int phase = 0;; ++phase) {
          bool more = false;
          for (int k = 0; k < threads; ++k) {
            const int tid = blk & 1 ? threads - 1 - k : k;
            const bool m = body(phase, blk, tid, threads, memory.data());
            if (k > 0 && m != more)
              throw std::logic_error("cuph: a block's threads disagree on its phases");
            more = m;
          }
          if (!more) break;
        }
      };
    });
    if (f.error) f.error.raise();
    step.done();
  }
  uint64_t max_shared() const { return replay_switch().max_shared.load(); }

 private:
  struct NoSync {  // the CPU launcher's steps have finished when they return
    void operator()() const {}
  };
  struct Step : ProfiledStep<NoSync> {
    explicit Step(const char* what) : ProfiledStep<NoSync>(what, NoSync()) {}
  };
  int threads_;
  std::vector<std::unique_ptr<uint64_t[]>> arrays_;
};

// The 2-D kernels on the CPU launcher, rows downloaded where sink says (run_2d). As on the CUDA
// launcher, a NaN is left in r.nan_at (counted from the run's first item) for the caller, which
// knows where the run's items sit in the batch.
template <class Sink>
RunResult run_cpu(const Tables2& t, const Input& in, bool superlevel, const uint32_t* words,
                  int64_t n_items, int64_t rows, int64_t cols, int passes, int threads,
                  Sink&& sink) {
  CpuLauncher l(threads);
  RunResult r;
  run_2d(l, t, in, superlevel, words, n_items, rows, cols, passes, replay_switch().options(),
         sink, r);
  if (r.block_replay) ++replay_switch().block_runs;
  return r;
}

// The kernels of cubical_nd.cuh on the CPU launcher, as run_cpu.
template <class Sink>
RunResult run_cpu_nd(const TablesN& t, const Input& in, bool superlevel, const uint32_t* words,
                     int64_t n_items, int threads, Sink&& sink) {
  CpuLauncher l(threads);
  RunResult r;
  run_nd(l, t, in, superlevel, words, n_items, replay_switch().options(), sink, r);
  replay_switch().count(r);
  return r;
}

// The sink of the runs of one batch (run_2d's): each run's rows and group counts appended to
// one result, in the CPU engine's layout (values in float32 where that is exact for dtype).
// direct: the kernels write the rows there (the CPU launcher, whose memory is the host's),
// else they are downloaded there.
struct ResultSink {
  BatchResult& out;
  DType dtype;
  bool superlevel;
  bool direct;
  Rows operator()(uint64_t rows, const std::vector<uint32_t>& counts) const {
    if (out.offsets.empty()) out.offsets.push_back(0);
    for (uint32_t c : counts) out.offsets.push_back(out.offsets.back() + int64_t(c));
    const size_t at = out.dim.size(), n = at + size_t(rows);
    out.single = exact_in_float(dtype);
    out.dim.resize(n);
    out.birth_index.resize(n);
    out.death_index.resize(n);
    Columns2 c;
    c.dim = out.dim.data() + at;
    c.birth_index = out.birth_index.data() + at;
    c.death_index = out.death_index.data() + at;
    if (out.single) {
      out.birth32.resize(n);
      out.death32.resize(n);
      c.birth32 = out.birth32.data() + at;
      c.death32 = out.death32.data() + at;
    } else {
      out.birth.resize(n);
      out.death.resize(n);
      c.birth = out.birth.data() + at;
      c.death = out.death.data() + at;
    }
    c.never = superlevel ? -std::numeric_limits<double>::infinity()
                         : std::numeric_limits<double>::infinity();
    return {c, direct};
  }
};

// The Betti kernels' tables for items of `shape` (d = 2 or 3 axes): the CPU kernel's
// adjacency halves and Euler table (betti.hpp), as padded-index steps.
inline BettiTables make_betti_tables(int d, const int64_t* shape, Construction c) {
  BettiTables t;
  t.d = d;
  t.v = c == Construction::V;
  t.padded = 1;
  for (int i = d - 1; i >= 0; --i) {
    t.shape[i] = shape[i];
    t.ps[i] = t.padded;
    t.padded *= shape[i] + 2;
  }
  auto fill = [&](auto dim) {
    constexpr int D = decltype(dim)::value;
    const auto& half = betti_detail::FullHalf<D>::get();
    t.n_full = half.n;
    for (int j = 0; j < half.n; ++j)
      for (int i = 0; i < D; ++i) t.full[j] += half.delta[size_t(j)][size_t(i)] * t.ps[i];
    t.n_face = D;
    for (int i = 0; i < D; ++i) t.face[i] = t.ps[i];
    for (int e = 0; e < (1 << D); ++e)
      for (int j = 0; j < D; ++j) t.corner[e] += ((e >> j) & 1) * t.ps[D - 1 - j];
    auto copy = [&](const auto& table) {
      for (size_t m = 0; m < table.size(); ++m) t.euler[m] = table[m];
    };
    if (c == Construction::V) copy(betti_detail::euler_table<D, Construction::V>());
    else copy(betti_detail::euler_table<D, Construction::T>());
  };
  if (d == 2) fill(std::integral_constant<int, 2>());
  else fill(std::integral_constant<int, 3>());
  return t;
}

// The Betti kernels (betti.cuh) on the CPU launcher, as run_betti_cuda: Betti numbers appended
// to `out`, a NaN left in nan_at (counted from the run's first item).
inline void run_betti_cpu(const Input& in, const BettiTables& t, const double* eta,
                          int64_t n_items, int threads, std::vector<int64_t>& out,
                          uint64_t& nan_at) {
  CpuLauncher l(threads);
  run_betti(l, t, in, eta, n_items, out, nan_at);
}

// Checks what a kernel takes: items of 2 to max_d axes (`what` says which, for the error) with
// fewer than 2^32 padded cells, the outside node included (32-bit node and flat indices).
inline void check_items(const BatchView& b, int max_d, const std::string& what) {
  if (b.item.ndim < 2 || b.item.ndim > max_d)
    throw std::invalid_argument("x: the GPU engine " + what + " (got " +
                                std::to_string(b.item.ndim) + "-D); use device='cpu'");
  int64_t padded = 1;
  for (int i = 0; i < b.item.ndim; ++i) padded *= b.item.shape[i] + 2;
  if (padded + 1 >= (int64_t(1) << 32)) throw std::invalid_argument("x: an item of 2^32 or more cells");
}
inline void check_2d(const BatchView& b) { check_items(b, 2, "handles 2-D items so far"); }
inline void check_nd(const BatchView& b) {
  check_items(b, 4, "takes 2-D to 4-D items for dimensions 0 and d-1");
}
inline void check_betti(const BatchView& b) {
  check_items(b, 3, "takes 2-D and 3-D items for Betti numbers");
}

}  // namespace gpu
}  // namespace cuph
