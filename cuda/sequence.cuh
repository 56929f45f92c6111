// The launch sequences of the kernels, written once for both launchers: which arrays a batch
// needs and how large, the launches in order, the prefix sum between the two `local` launches,
// and what comes back to the host. The CPU launcher (host.hpp, CpuLauncher) runs them in every
// test, so only the launcher's few primitives are left for a GPU to check (launch.cu,
// CudaLauncher). A launcher L provides:
//
//   T* alloc<T>(n, what)           an array of n T the bodies can read and write, freed with L
//   T* filled<T>(n, byte, what)    the same, every byte set to `byte`
//   T* upload<T>(host, n, what)    such an array holding a copy of n T of host memory
//   void download<T>(host, a, n)   n T of array a back to host memory, after every launch
//   void launch(what, n, body)     body(e) for every e < n, bodies running concurrently; a
//                                  launch sees the writes of the launches before it
//   void launch_blocks(what, n, threads, shared, body)
//                                  n blocks of `threads` threads, each block with `shared`
//                                  bytes of its own memory (8-byte aligned, uninitialised),
//                                  run in phases: every thread calls body(phase, block, tid,
//                                  threads, memory) for phase 0, 1, ... with a barrier after
//                                  each; the value returned (whether a phase follows) must be
//                                  the same on all of a block's threads
//   uint64_t max_shared()          the most bytes of such memory a block may have
//
// Host code (no CUDA API), compiled by nvcc for launch.cu and by the C++ compiler for the rest.
#pragma once
#include <cstdint>
#include <vector>

#include "betti.cuh"
#include "cubical_2d.cuh"
#include "cubical_nd.cuh"
#include "spanning_forest.cuh"

namespace cuph {
namespace gpu {

// The kernel bodies as function objects: one element each.
struct LoadWords {
  Batch2 b;
  CUPH_HD void operator()(int64_t e) const { load_words(b, e); }
};
struct PackKey {
  Batch2 b;
  CUPH_HD void operator()(int64_t e) const { pack_key(b, e); }
};
struct Local {
  Batch2 b;
  const Tables2* t;
  bool fill;
  CUPH_HD void operator()(int64_t e) const { local(b, *t, e, fill); }
};
struct InitOutside {
  Batch2 b;
  CUPH_HD void operator()(int64_t e) const { init_outside(b, e); }
};
struct Replay {
  Batch2 b;
  const Tables2* t;
  CUPH_HD void operator()(int64_t e) const { replay(b, *t, e); }
};
template <class B> struct WritePair {
  B b;
  Columns2 c;
  int q;
  CUPH_HD void operator()(int64_t e) const { write_pair(b, c, q, e); }
};
struct LoadWordsN {
  BatchN b;
  CUPH_HD void operator()(int64_t e) const { load_words_n(b, e); }
};
struct NodeKey {
  BatchN b;
  const TablesN* t;
  CUPH_HD void operator()(int64_t e) const { node_key(b, *t, e); }
};
struct Descend {
  BatchN b;
  const TablesN* t;
  CUPH_HD void operator()(int64_t e) const { descend(b, *t, e); }
};
struct Flatten {
  BatchN b;
  bool exact;
  CUPH_HD void operator()(int64_t e) const { flatten(b, e, exact); }
};
struct Candidates {
  BatchN b;
  const TablesN* t;
  bool fill;
  CUPH_HD void operator()(int64_t e) const { candidates(b, *t, e, fill); }
};
struct RankCandidate {
  BatchN b;
  int q;
  Ranked* a;
  CUPH_HD void operator()(int64_t e) const { rank_candidate(b, q, a, e); }
};
struct BitonicStep {
  Ranked* a;
  int64_t k, j;
  CUPH_HD void operator()(int64_t e) const { bitonic_step(a, k, j, e); }
};
struct UnrankCandidate {
  BatchN b;
  int q;
  const Ranked* a;
  CUPH_HD void operator()(int64_t e) const { unrank_candidate(b, q, a, e); }
};
struct MsfInit {
  Msf m;
  CUPH_HD void operator()(int64_t x) const { msf_init(m, x); }
};
struct MsfClear {
  Msf m;
  CUPH_HD void operator()(int64_t) const { *m.hooked = 0; }
};
struct MsfReset {
  Msf m;
  CUPH_HD void operator()(int64_t x) const { msf_reset(m, x); }
};
struct MsfKey {
  Msf m;
  CUPH_HD void operator()(int64_t e) const { msf_key(m, e); }
};
struct MsfEdge {
  Msf m;
  CUPH_HD void operator()(int64_t e) const { msf_edge(m, e); }
};
struct MsfOther {
  Msf m;
  CUPH_HD void operator()(int64_t x) const { msf_other(m, x); }
};
struct MsfHook {
  Msf m;
  CUPH_HD void operator()(int64_t x) const { msf_hook(m, x); }
};
struct MsfJump {
  Msf m;
  bool exact;
  CUPH_HD void operator()(int64_t x) const { msf_jump(m, x, exact); }
};
struct MsfKeep {
  Msf m;
  bool fill;
  CUPH_HD void operator()(int64_t e) const { msf_keep(m, e, fill); }
};
struct ReplayN {
  BatchN b;
  unsigned sorted;
  CUPH_HD void operator()(int64_t e) const { replay_n(b, e, sorted); }
};
struct BettiLabel {
  BettiBatch b;
  const BettiTables* t;
  CUPH_HD void operator()(int64_t e) const { betti_label(b, *t, e); }
};
struct BettiUnite {
  BettiBatch b;
  const BettiTables* t;
  CUPH_HD void operator()(int64_t e) const { betti_unite(b, *t, e); }
};
struct BettiCount {
  BettiBatch b;
  const BettiTables* t;
  CUPH_HD void operator()(int64_t e) const { betti_count(b, *t, e); }
};

// Where a run's rows go (its sink's answer): `at`, without `row`, has float32 values iff its
// birth32 is set; direct: `at` is memory the bodies write (the launcher's side: device memory
// for the CUDA launcher), else host memory that the rows are downloaded into.
struct Rows {
  Columns2 at;
  bool direct = false;
};

// What a 2-D run leaves on the host besides its rows (which go where its sink says): the
// number of pairs of each item and pass, item-major (counts[i * passes + q]). nan_at: the
// first NaN's element index (load_words), ~0 if none; then there are no pairs.
struct RunResult {
  std::vector<uint32_t> counts;
  uint64_t nan_at = ~uint64_t(0);
  bool block_replay = false;  // the replay ran a block per item and pass (BlockReplay)
  int network_sorts = 0;      // run_nd: passes whose candidates the sorting network sorted
  int forest_rounds = 0;      // run_nd: Boruvka rounds of all passes
  uint64_t candidates = 0, forest_edges = 0;  // run_nd: before and after the forest
};

// How the replay runs (a test and benchmark switch): blocks = true takes a block per item and
// pass (BlockReplay, of `threads` threads) when the largest one's shared memory fits the
// launcher's, else every item and pass goes to one thread (Replay).
struct ReplayOptions {
  bool blocks = true;
  int threads = 128;
  // run_nd: a pass whose largest item has more candidates than this is sorted by the bitonic
  // network over the batch (launches), else by each item's replay thread (a heap sort).
  uint64_t sort_above = 1024;
  // run_nd: the candidates reduced to their minimum spanning forest (spanning_forest.cuh)
  // before they are sorted and replayed.
  bool forest = true;
};

// Per-item counts on the launcher's side as item offsets: downloaded into `count`, summed into
// `start` (items + 1 entries) and uploaded; returns the uploaded offsets.
template <class L>
uint64_t* item_offsets(L& l, const uint32_t* counts, size_t items, std::vector<uint32_t>& count,
                       std::vector<uint64_t>& start) {
  count.resize(items);
  l.download(count.data(), counts, items);
  start.assign(items + 1, 0);
  for (size_t i = 0; i < items; ++i) start[i + 1] = start[i] + count[i];
  return l.upload(start.data(), start.size(), "offsets");
}

// The rows of a run's pairs, item-major, then by dimension (n_groups() per item; dimensions
// that no pass computes stay empty), written by write_pair where sink(n_rows, out.counts) says:
// straight there, or on the launcher's side and then downloaded. starts[q]: the pass's slots.
template <class L, class B, class Sink>
void write_rows(L& l, const B& b, const std::vector<uint64_t>* starts, Sink&& sink,
                RunResult& out) {
  const size_t items = size_t(b.n_items), groups = size_t(b.n_groups());
  std::vector<uint32_t> count(items);
  out.counts.assign(items * groups, 0);
  for (int q = 0; q < b.passes; ++q) {
    l.download(count.data(), b.n_pairs[q], items);
    for (size_t i = 0; i < items; ++i) out.counts[i * groups + size_t(b.dim_of(q))] = count[i];
  }
  std::vector<int64_t> row(out.counts.size() + 1, 0);
  for (size_t g = 0; g < out.counts.size(); ++g) row[g + 1] = row[g] + int64_t(out.counts[g]);
  const size_t total = size_t(row.back());
  const Rows dst = sink(uint64_t(total), out.counts);
  if (total == 0) return;
  const Columns2& host = dst.at;
  Columns2 c = host;
  if (!dst.direct) {
    c.dim = l.template alloc<int8_t>(total, "dims");
    if (host.birth32) {
      c.birth32 = l.template alloc<float>(total, "births");
      c.death32 = l.template alloc<float>(total, "deaths");
    } else {
      c.birth = l.template alloc<double>(total, "births");
      c.death = l.template alloc<double>(total, "deaths");
    }
    c.birth_index = l.template alloc<int64_t>(total, "birth indices");
    c.death_index = l.template alloc<int64_t>(total, "death indices");
  }
  c.row = l.upload(row.data(), row.size(), "rows");
  for (int q = 0; q < b.passes; ++q)
    l.launch("write_pair", int64_t(starts[q].back() + items), WritePair<B>{b, c, q});
  if (dst.direct) return;
  l.download(host.dim, c.dim, total);
  if (host.birth32) {
    l.download(host.birth32, c.birth32, total);
    l.download(host.death32, c.death32, total);
  } else {
    l.download(host.birth, c.birth, total);
    l.download(host.death, c.death, total);
  }
  l.download(host.birth_index, c.birth_index, total);
  l.download(host.death_index, c.death_index, total);
}

// The kernels of cubical_2d.cuh for n_items items of rows x cols; `in` is memory the bodies can
// read. `words` (host memory, may be null): words made on the host for dtypes without their own
// (has_word), else load_words makes them. The pairs are written as result columns (write_pair)
// where sink(n_rows, out.counts) says (Rows): straight there, or on the launcher's side and
// then downloaded.
template <class L, class Sink>
void run_2d(L& l, const Tables2& tables, const Input& in, bool superlevel, const uint32_t* words,
            int64_t n_items, int64_t rows, int64_t cols, int passes, const ReplayOptions& ro,
            Sink&& sink, RunResult& out) {
  Batch2 b(in, superlevel, n_items, rows, cols, passes);
  const size_t items = size_t(n_items), nodes = items * size_t(b.nodes()),
               gens = items * size_t(rows * cols);
  const Tables2* t = l.upload(&tables, 1, "tables");
  if (words) {
    b.words = l.upload(words, gens, "value words");
  } else {
    b.words = l.template alloc<uint32_t>(gens, "value words");
    b.nan_at = l.template filled<uint64_t>(1, 0xff, "NaN flag");
    l.launch("load_words", int64_t(gens), LoadWords{b});
    l.download(&out.nan_at, b.nan_at, 1);
    if (out.nan_at != ~uint64_t(0)) return;
  }
  b.keys = l.template alloc<uint64_t>(nodes, "keys");
  b.min_key = l.template filled<uint64_t>(items, 0xff, "minima");
  for (int q = 0; q < passes; ++q) {
    b.parent[q] = l.template alloc<uint32_t>(nodes, "forest");
    if (!tables.pass[q].age_is_key) b.age[q] = l.template alloc<uint64_t>(nodes, "ages");
    b.count[q] = l.template filled<uint32_t>(items, 0, "counts");
    b.fill[q] = l.template filled<uint32_t>(items, 0, "counts");
  }
  l.launch("pack_key", int64_t(nodes), PackKey{b});
  l.launch("local", int64_t(gens), Local{b, t, false});
  l.launch("init_outside", n_items, InitOutside{b});
  std::vector<uint32_t> count(items);
  std::vector<uint64_t> starts[2];
  int64_t most = 0;  // criticals of the largest item and pass
  for (int q = 0; q < passes; ++q) {
    b.start[q] = item_offsets(l, b.count[q], items, count, starts[q]);
    for (uint32_t c : count) most = most > int64_t(c) ? most : int64_t(c);
    const std::vector<uint64_t>& start = starts[q];
    b.crit[q] = l.template alloc<Critical>(size_t(start.back()), "critical joins");
    b.pairs[q] = l.template alloc<Pair>(size_t(start.back()) + items, "pairs");
    b.n_pairs[q] = l.template alloc<uint32_t>(items, "pair counts");
  }
  l.launch("local (fill)", int64_t(gens), Local{b, t, true});
  const uint64_t shared = BlockReplay::shared_bytes(b.nodes(), most);
  out.block_replay = ro.blocks && shared <= l.max_shared();
  if (out.block_replay)
    l.launch_blocks("replay (blocks)", n_items * passes, ro.threads, shared, BlockReplay{b, t});
  else
    l.launch("replay", n_items * passes, Replay{b, t});
  write_rows(l, b, starts, sink, out);
}

// Boruvka's rounds over pass q's candidates (spanning_forest.cuh); then the pass's candidates
// are the forest's edges, item by item (b.crit[q], b.start[q] and `start` replaced).
template <class L>
void spanning_forest(L& l, BatchN& b, int q, std::vector<uint64_t>& start, RunResult& out) {
  const size_t items = size_t(b.n_items), nodes = items * size_t(b.nodes());
  const int64_t edges = int64_t(start.back());
  Msf m;
  m.b = b;
  m.q = q;
  m.comp = l.template alloc<uint32_t>(nodes, "forest components");
  m.best = l.template alloc<uint64_t>(nodes, "lightest keys");
  m.edge = l.template alloc<uint64_t>(nodes, "lightest edges");
  m.other = l.template alloc<uint32_t>(nodes, "other components");
  m.chosen = l.template filled<uint8_t>(size_t(edges), 0, "forest edges");
  m.hooked = l.template alloc<uint32_t>(1, "hook flag");
  l.launch("msf_init", int64_t(nodes), MsfInit{m});
  for (uint32_t hooked = 1; hooked;) {
    l.launch("msf_clear", 1, MsfClear{m});
    l.launch("msf_reset", int64_t(nodes), MsfReset{m});
    l.launch("msf_key", edges, MsfKey{m});
    l.launch("msf_edge", edges, MsfEdge{m});
    l.launch("msf_other", int64_t(nodes), MsfOther{m});
    l.launch("msf_hook", int64_t(nodes), MsfHook{m});
    l.launch("msf_jump", int64_t(nodes), MsfJump{m, false});
    l.launch("msf_jump (exact)", int64_t(nodes), MsfJump{m, true});
    l.download(&hooked, m.hooked, 1);
    ++out.forest_rounds;
  }
  m.count = l.template filled<uint32_t>(items, 0, "counts");
  m.fill = l.template filled<uint32_t>(items, 0, "counts");
  l.launch("msf_keep", edges, MsfKeep{m, false});
  std::vector<uint32_t> count;
  m.start = item_offsets(l, m.count, items, count, start);
  m.kept = l.template alloc<Critical>(size_t(start.back()), "forest joins");
  l.launch("msf_keep (fill)", edges, MsfKeep{m, true});
  b.crit[q] = m.kept;
  b.start[q] = m.start;
  out.forest_edges += start.back();
}

// The kernels of cubical_nd.cuh (dimension 0 and, with passes = 2, dimension d-1) for n_items
// items of the tables' shape, as run_2d (words, NaN, sink, out).
template <class L, class Sink>
void run_nd(L& l, const TablesN& tables, const Input& in, bool superlevel, const uint32_t* words,
            int64_t n_items, const ReplayOptions& ro, Sink&& sink, RunResult& out) {
  BatchN b;
  b.n_items = n_items;
  b.size = tables.size;
  b.passes = tables.passes;
  b.groups = tables.groups;
  for (int q = 0; q < tables.passes; ++q) b.dims[q] = tables.pass[q].dim;
  b.in = in;
  b.superlevel = superlevel;
  const size_t items = size_t(n_items), gens = items * size_t(b.size),
               nodes = items * size_t(b.nodes());
  const TablesN* t = l.upload(&tables, 1, "tables");
  if (words) {
    b.words = l.upload(words, gens, "value words");
  } else {
    b.words = l.template alloc<uint32_t>(gens, "value words");
    b.nan_at = l.template filled<uint64_t>(1, 0xff, "NaN flag");
    l.launch("load_words", int64_t(gens), LoadWordsN{b});
    l.download(&out.nan_at, b.nan_at, 1);
    if (out.nan_at != ~uint64_t(0)) return;
  }
  b.min_key = l.template filled<uint64_t>(items, 0xff, "minima");
  for (int q = 0; q < b.passes; ++q) {
    b.nkey[q] = l.template alloc<uint64_t>(nodes, "node keys");
    b.parent[q] = l.template alloc<uint32_t>(nodes, "forest");
    b.count[q] = l.template filled<uint32_t>(items, 0, "counts");
    b.fill[q] = l.template filled<uint32_t>(items, 0, "counts");
  }
  l.launch("node_key", int64_t(nodes), NodeKey{b, t});
  l.launch("descend", int64_t(nodes), Descend{b, t});
  l.launch("flatten", int64_t(nodes), Flatten{b, false});
  l.launch("flatten (exact)", int64_t(nodes), Flatten{b, true});
  l.launch("candidates", int64_t(nodes), Candidates{b, t, false});
  std::vector<uint32_t> count(items);
  std::vector<uint64_t> starts[2];
  for (int q = 0; q < b.passes; ++q) {
    b.start[q] = item_offsets(l, b.count[q], items, count, starts[q]);
    b.crit[q] = l.template alloc<Critical>(size_t(starts[q].back()), "candidate joins");
    out.candidates += starts[q].back();
  }
  l.launch("candidates (fill)", int64_t(nodes), Candidates{b, t, true});
  unsigned network = 0;  // bit q: pass q sorted by the network
  for (int q = 0; q < b.passes; ++q) {
    if (ro.forest) spanning_forest(l, b, q, starts[q], out);
    const std::vector<uint64_t>& start = starts[q];
    for (size_t i = 0; i < items; ++i)
      if (start[i + 1] - start[i] > ro.sort_above) network |= 1u << q;
    b.pairs[q] = l.template alloc<Pair>(size_t(start.back()) + items, "pairs");
    b.n_pairs[q] = l.template alloc<uint32_t>(items, "pair counts");
    if (!((network >> q) & 1)) continue;
    const int64_t total = int64_t(start.back());
    int64_t m = 1;
    while (m < total) m *= 2;
    Ranked* a = l.template alloc<Ranked>(size_t(m), "sorting network");
    l.launch("rank_candidate", m, RankCandidate{b, q, a});
    for (int64_t k = 2; k <= m; k *= 2)
      for (int64_t j = k / 2; j > 0; j /= 2) l.launch("bitonic_step", m, BitonicStep{a, k, j});
    l.launch("unrank_candidate", total, UnrankCandidate{b, q, a});
    ++out.network_sorts;
  }
  l.launch("replay", n_items * b.passes, ReplayN{b, network});
  write_rows(l, b, starts, sink, out);
}

// The Betti kernels (betti.cuh) for n_items items of the tables' shape; `eta` in host memory.
// beta_0 .. beta_{d-1} per item appended to out; nan_at as in RunResult (batch-flat element
// index within this run), and then nothing is appended.
template <class L>
void run_betti(L& l, const BettiTables& tables, const Input& in, const double* eta,
               int64_t n_items, std::vector<int64_t>& out, uint64_t& nan_at) {
  const size_t items = size_t(n_items), cells = items * size_t(tables.padded);
  BettiBatch b;
  b.in = in;
  b.n_items = n_items;
  const BettiTables* t = l.upload(&tables, 1, "tables");
  b.eta = l.upload(eta, items, "thresholds");
  b.lab = l.template alloc<uint8_t>(cells, "labels");
  b.parent = l.template alloc<uint32_t>(cells, "forest");
  b.nan_at = l.template filled<uint64_t>(1, 0xff, "NaN flag");
  b.roots[0] = l.template filled<uint32_t>(items, 0, "counts");
  b.roots[1] = l.template filled<uint32_t>(items, 0, "counts");
  b.plus = l.template filled<uint32_t>(items, 0, "counts");
  b.minus = l.template filled<uint32_t>(items, 0, "counts");
  l.launch("betti_label", int64_t(cells), BettiLabel{b, t});
  l.download(&nan_at, b.nan_at, 1);
  if (nan_at != ~uint64_t(0)) return;
  l.launch("betti_unite", int64_t(cells), BettiUnite{b, t});
  l.launch("betti_count", int64_t(cells), BettiCount{b, t});
  std::vector<uint32_t> c[4];
  const uint32_t* counters[4] = {b.roots[0], b.roots[1], b.plus, b.minus};
  for (int k = 0; k < 4; ++k) {
    c[k].resize(items);
    l.download(c[k].data(), counters[k], items);
  }
  const std::vector<int64_t> part =
      betti_of(tables.d, c[0].data(), c[1].data(), c[2].data(), c[3].data(), n_items);
  out.insert(out.end(), part.begin(), part.end());
}

}  // namespace gpu
}  // namespace cuph
