// Union-find with the elder rule, for dimension 0 (0-cells joined by edges in increasing order)
// and, by Alexander duality, for the top dimension D-1 (top cells joined by (D-1)-cells in
// decreasing order, with the outside of the box as one extra, oldest node).
//
// Most joins are decided locally, in one sweep in memory order without any sort (the idea of
// gudhi's Persistence_on_rectangle and of Flash Cubical, here for any dimension and both
// constructions). At each generator g, the node cells it owns are new, the other nodes around
// it are old, and old nodes joined by cells already present near g are in one group. A join
// that touches a group of new nodes is a zero-length pair (pre-linked into the forest); a join
// inside one group closes a cycle; only joins of two different old groups are "critical".
// Critical joins are sorted and replayed in filtration order on the pre-linked forest.
//
// What happens at g depends only on its neighbour mask (which neighbours come before it), so
// the local decisions are compiled into a small "program" per mask: a table for 1-D and 2-D
// (at most 256 masks), computed on the fly beyond. Both passes share one sweep and one mask.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "bitset.hpp"
#include "cancel.hpp"
#include "chunked_list.hpp"
#include "diagram.hpp"
#include "grid.hpp"
#include "parallel.hpp"
#include "scratch.hpp"
#include "threads.hpp"

namespace cuph {

inline uint32_t find_root(uint32_t* parent, uint32_t x, size_t nodes) {
  CUPH_ASSERT(x <= nodes);  // nodes: the outside
  (void)nodes;
  while (parent[x] != x) {
    parent[x] = parent[parent[x]];  // path halving
    x = parent[x];
  }
  return x;
}

// The local decisions at one generator, for one neighbour mask.
template <int D> struct LocalProgram {
  static constexpr int kMaxSlots = 2 * (1 << D) + 2 * D + 2;
  static constexpr int kMaxActs = D * (1 << D) + 2 * D;
  struct Act {
    uint8_t critical;  // 0: zero-length join of a new group into another group; 1: critical
    uint8_t join;      // index of the join cell
    uint8_t src, dst;  // zero-length: the new group's root slot and a slot of the other group
                       // (critical: unused)
  };
  // In the order a visit reads them: with a cache slot aligned to 64 bytes, the counts, the
  // creates and a 3-D program's first acts share its first cache line (3-D union-find -4..8%).
  uint8_t n_create = 0, n_act = 0, n_root = 0;
  std::array<uint8_t, kMaxSlots> create{};
  std::array<Act, kMaxActs> act{};
  std::array<uint8_t, kMaxSlots> root{};
  uint64_t zero_joins = 0;  // bit j: join j is zero-length here (primal pass: an edge that kills)
};

// Dual == false: dimension 0 (nodes = vertices, joins = edges, increasing order).
// Dual == true: dimension D-1 (nodes = top cells, joins = (D-1)-cells, decreasing order).
template <bool Dual, int D, Construction C> class UnionFindPass {
 public:
  using G = Grid<D, C>;
  using Mask = typename G::Mask;
  using Program = LocalProgram<D>;
  static constexpr bool V = C == Construction::V;
  // Old nodes around g are joined through cells of g's star (T vertices, V cubes) or, for V
  // vertices and T top cells, through the diagonal neighbour of two axis neighbours.
  static constexpr bool kStarCase = (C == Construction::T) != Dual;
  // V vertices and T top cells are the generators themselves: a node's only creator is the
  // generator at its own index, so a root's age is its own key and needs no array.
  static constexpr bool kAgeIsKey = V != Dual;

  explicit UnionFindPass(const G& g) : g_(g) {
    const int node_dim = Dual ? D : 0, join_dim = Dual ? D - 1 : 1;
    for (const auto& e : g.star[size_t(node_dim)]) {
      int q[D];
      for (int i = 0; i < D; ++i) q[i] = e.off[i];
      creates_.push_back({e.code, slot_of(q)});
    }
    for (const auto& e : g.star[size_t(join_dim)]) {
      int axis = 0;  // the axis joining the two nodes: where the join is odd (0) / even (dual)
      while (((e.off[axis] != 0) == V) != !Dual) ++axis;
      int qa[D], qb[D];
      for (int i = 0; i < D; ++i) qa[i] = qb[i] = e.off[i];
      --qa[axis];
      ++qb[axis];
      Join j{e.code, slot_of(qa), slot_of(qb), 0, {}};
      for (int i = 0; i < D; ++i) j.off[i] = e.off[i];
      // Block case: the join's node other than g itself (an axis neighbour).
      j.far = slot_off_[size_t(j.a)] == std::array<int, D>{} ? j.b : j.a;
      joins_.push_back(j);
    }
    if (Dual) std::reverse(joins_.begin(), joins_.end());  // decreasing (key, code) order
    std::vector<int> list = g.neighbours_for({node_dim, join_dim});
    if (!kStarCase) {
      for (size_t x = 0; x < joins_.size(); ++x)
        for (size_t y = 0; y < joins_.size(); ++y) {
          int off[D];
          bool ok = true;
          for (int i = 0; i < D; ++i) {
            ok &= !(joins_[x].off[i] && joins_[y].off[i]);
            off[i] = joins_[x].off[i] + joins_[y].off[i];
          }
          if (!ok) continue;
          const int nb = g.neighbour_of(off);
          list.push_back(nb);
          if (x < y) diagonals_.push_back({int(x), int(y), nb});
        }
    }
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    needed_ = list;
    for (size_t s = 0; s < slot_off_.size(); ++s) {
      int64_t step = 0, witness = 0;
      for (int i = 0; i < D; ++i) {
        step += slot_off_[s][i] * g.pad.stride[i];
        witness += slot_witness_[s][i] * g.pad.stride[i];
      }
      slot_step_.push_back(step);
      slot_wit_.push_back(witness);
    }
    for (const auto& c : creates_) sig_tests_.add(g.required[c.code]);
    for (const auto& j : joins_) sig_tests_.add(g.required[j.code]);
    if (!kStarCase)
      for (const auto& d : diagonals_)
        sig_tests_.add(g.required[joins_[size_t(d.x)].code] |
                       g.required[joins_[size_t(d.y)].code] | (Mask(1) << d.nb));
    if (kAgeIsKey && (creates_.size() != 1 || slot_step_[size_t(creates_[0].slot)] != 0))
      throw std::logic_error("cuph: a generator pass whose node is not its generator");
    if (D <= 2) table_ = table().data();
  }

  const std::vector<int>& needed() const { return needed_; }
  uint8_t join_code(size_t j) const { return joins_[j].code; }
  // The two node slots that join j links.
  int join_a(size_t j) const { return joins_[j].a; }
  int join_b(size_t j) const { return joins_[j].b; }

  // The program for a mask: from the full table (1-D, 2-D), else from a per-thread cache
  // (2^26 or 2^80 masks, but smooth data repeats a few hundred of them).
  // Beyond 2-D the cache is keyed by what compile() actually reads: which cells g owns and, for
  // the block case, which diagonal neighbours come first (far fewer values than masks).
  struct alignas(64) Slot { uint64_t sig; bool valid; Program prog; };
  using Cache = std::vector<Slot>;
  // This thread's cache. A sweep asks once per range of generators: in a shared library every
  // access to a thread_local is a call (__tls_get_addr).
  static Cache& thread_cache() {
    // 2^11 slots of 192 bytes in 3-D: the two passes' caches (0.75 MB per thread) are part of
    // a first call's memory (2^12 was as fast and twice as large: 7 bytes per voxel of a
    // 64x56x56 volume); threads are parked between calls, so later calls find them warm.
    // 4-D noise keeps 2^12 (3% faster).
    thread_local Cache cache(D <= 2 ? 0 : size_t(1) << kCacheBits);  // 1-D, 2-D: tables
    return cache;
  }
  const Program& program(Mask before, Cache& cache) const {
    if (D <= 2) return table_[size_t(before)];
    const uint64_t sig = signature(before);
    Slot& slot = cache[size_t((sig * 0x9E3779B97F4A7C15ull) >> (64 - kCacheBits))];
    if (!slot.valid || slot.sig != sig) slot = {sig, true, compile(sig)};
    return slot.prog;
  }
  const Program& program(Mask before) const { return program(before, thread_cache()); }
  // The signature's bits: the ownership of each node and join cell, then, for the block case,
  // each pair of owned joins whose diagonal neighbour comes first (MaskTests, one per bit).
  uint64_t signature(Mask before) const { return sig_tests_.all_before(before); }

  // The node of slot s around generator p (the outside for a missing dual node).
  template <class KeyT> uint32_t node(const KeyT* keys, int64_t p, int s) const {
    if (Dual && keys[p + slot_wit_[size_t(s)]] == ~KeyT(0)) return uint32_t(g_.pad.size);
    return uint32_t(p + slot_step_[size_t(s)]);
  }
  int64_t step(int s) const { return slot_step_[size_t(s)]; }
  // For copies of the pass's tables (the portable kernels, cuda/): the number of node slots
  // and joins, and the step to the generator that says whether a dual slot is the outside.
  int n_slots() const { return int(slot_off_.size()); }
  int n_joins() const { return int(joins_.size()); }
  int64_t witness(int s) const { return slot_wit_[size_t(s)]; }
  const G& grid() const { return g_; }

 private:
  struct Join {
    uint8_t code;
    int a, b, far;
    std::array<int, D> off;
  };
  struct Create {
    uint8_t code;
    int slot;
  };

  // The slot of the node at doubled offset q from the generator (named by a generator offset).
  int slot_of(const int* q) {
    std::array<int, D> h{}, w{};
    for (int i = 0; i < D; ++i) {
      h[i] = (q[i] % 2 == 0) ? q[i] / 2 : V ? (q[i] - 1) / 2 : (q[i] + 1) / 2;
      // A dual node exists iff this generator is real: a V cube's far corner, a T top cell.
      w[i] = (q[i] % 2 == 0) ? q[i] / 2 : q[i];
    }
    for (size_t s = 0; s < slot_off_.size(); ++s)
      if (slot_off_[s] == h) return int(s);
    slot_off_.push_back(h);
    slot_witness_.push_back(w);
    return int(slot_off_.size()) - 1;
  }

  // Programs depend on the star's structure only, not on the item, so the table of every mask
  // (1-D and 2-D: at most 2^8) is built once per process.
  const std::vector<Program>& table() const {
    static const std::vector<Program> t = [this] {
      std::vector<Program> all(size_t(1) << g_.nb_step.size());
      for (size_t m = 0; m < all.size(); ++m) all[m] = compile(signature(Mask(m)));
      return all;
    }();
    return t;
  }

  // The local decisions at a generator, from the signature of its neighbour mask (bit i:
  // creates_[i] owned; then joins_[k] owned; then, for the block case, diagonals_[d] present):
  // its bits, not tests of wide masks (4-D noise compiles a third of its programs: the
  // signatures outnumber the cache).
  Program compile(uint64_t sig) const {
    const size_t nc = creates_.size(), nj = joins_.size();
    const auto owned_create = [&](size_t i) { return (sig >> i) & 1; };
    const auto owned_join = [&](size_t k) { return (sig >> (nc + k)) & 1; };
    Program prog;
    const int n = int(slot_off_.size());
    int parent[Program::kMaxSlots];
    bool fresh[Program::kMaxSlots];
    for (int s = 0; s < n; ++s) { parent[s] = s; fresh[s] = false; }
    auto root = [&](int s) {
      while (parent[s] != s) s = parent[s];
      return s;
    };
    for (size_t i = 0; i < nc; ++i)
      if (owned_create(i)) {
        fresh[creates_[i].slot] = true;
        prog.create[prog.n_create++] = uint8_t(creates_[i].slot);
      }
    // Old nodes already joined near g (only old ones: the order of these unions leaves every
    // root old). Two slots may both stand for the outside; keeping them apart locally only
    // makes a join critical, never wrong.
    if (kStarCase) {
      for (size_t k = 0; k < nj; ++k) {
        if (owned_join(k)) continue;  // not owned: owned earlier in the pass, present
        const int a = root(joins_[k].a), b = root(joins_[k].b);
        if (a != b) parent[a] = b;
      }
    } else {
      for (size_t d = 0; d < diagonals_.size(); ++d) {
        if (!((sig >> (nc + nj + d)) & 1)) continue;  // both joins owned, the diagonal first
        const int a = root(joins_[size_t(diagonals_[d].x)].far);
        const int b = root(joins_[size_t(diagonals_[d].y)].far);
        if (a != b) parent[a] = b;
      }
    }
    for (size_t k = 0; k < nj; ++k) {
      const auto& j = joins_[k];
      if (!owned_join(k)) continue;
      int a = root(j.a), b = root(j.b);
      if (a == b) continue;  // a cycle: not a death
      if (fresh[a] || fresh[b]) {
        if (!fresh[a]) std::swap(a, b);  // a: a group of new nodes, born and dead at g
        prog.act[prog.n_act++] = {0, uint8_t(k), uint8_t(a), uint8_t(b)};
        prog.zero_joins |= uint64_t(1) << k;
      } else {
        prog.act[prog.n_act++] = {1, uint8_t(k), 0, 0};  // its nodes: join_a/join_b at replay
      }
      parent[a] = b;
    }
    // New groups that never met an old one: components born at g.
    for (int s = 0; s < n; ++s)
      if (fresh[s] && parent[s] == s) prog.root[prog.n_root++] = uint8_t(s);
    return prog;
  }

  static constexpr int kCacheBits = D == 3 ? 11 : 12;
  const G& g_;
  std::vector<Create> creates_;
  std::vector<Join> joins_;
  std::vector<int> needed_;
  std::vector<std::array<int, D>> slot_off_, slot_witness_;
  std::vector<int64_t> slot_step_, slot_wit_;
  const Program* table_ = nullptr;
  struct Diagonal { int x, y, nb; };  // block case: joins x < y and their diagonal neighbour
  std::vector<Diagonal> diagonals_;
  MaskTests<Mask> sig_tests_;  // see signature()
};

// The mutable side of one pass over one item. The arrays are left uninitialised on purpose:
// a node's entries are written when its owner creates it, before anything reads them, and
// zeroing two arrays per pass costs as much as the sweep on large smooth images. Small items
// use their thread's scratch memory (scratch.hpp), one set per direction of pass.
// A critical join is its cell (owner and join index, 12 bytes with ranks): the replay finds the
// two nodes from it, and it names the cell that the replay marks (a death edge, a positive
// (D-1)-cell). On noise, millions of them wait for the replay, at the memory peak of a 3-D item.
template <class KeyT, bool Dual> struct PassState {
  struct Critical { KeyT key; uint32_t owner; uint8_t join; };

 private:
  std::unique_ptr<uint32_t[]> own_parent_;
  std::unique_ptr<KeyT[]> own_age_;
  KeyT* ages_;  // the array behind `age` when it is the pass's own

 public:
  uint32_t* parent;
  const KeyT* age;  // the key of the generator that created each root
  ChunkedList<Critical> critical;
  size_t nodes;
  // `keys`: non-null when a node's age is its generator's key (UnionFindPass::kAgeIsKey);
  // the keys' entry at index n is the outside's ~0.
  PassState(size_t n, const KeyT* keys)
      : ages_(keys ? nullptr : scratch_buffer<Dual ? 3 : 2>(n + 1, own_age_)),
        parent(scratch_buffer<Dual ? 1 : 0>(n + 1, own_parent_)),
        age(keys ? keys : ages_),
        nodes(n) {
    parent[nodes] = uint32_t(nodes);  // the outside
    if (ages_) ages_[nodes] = ~KeyT(0);
  }
  void set_age(size_t node, KeyT key) { ages_[node] = key; }
  PassState(const PassState&) = delete;
  PassState& operator=(const PassState&) = delete;
};

// The generator a key names in a RawPair: a rank, or the flat-index half of a packed key.
template <class KeyT> uint32_t generator(KeyT key) { return uint32_t(key); }

// Where a merging join is marked: by slot_id (the reduction tests a (D-1)-cell beside the ranks
// it reads).
template <bool Dual, int D, Construction C>
size_t joined_id(const UnionFindPass<Dual, D, C>& pass, int64_t owner, uint8_t join) {
  return pass.grid().slot_id(owner, pass.join_code(join));
}

// `joined` (may be null) receives every join that merges two groups (joined_id): for the dual
// pass the (D-1)-cells that create a class. (The primal pass's, the edges that kill one, go to
// the sweep of dimension 1 instead: union_find_passes.)
template <bool Dual, int D, Construction C, class KeyT>
inline void visit(const UnionFindPass<Dual, D, C>& pass, const LocalProgram<D>& prog,
                  const KeyT* keys, int64_t p, KeyT r, PassState<KeyT, Dual>& st,
                  ChunkedList<typename PassState<KeyT, Dual>::Critical>& critical,
                  bool keep_diagonal, PairList& out, Bitset* joined, bool shared) {
  for (int i = 0; i < prog.n_create; ++i) {
    const uint32_t n = uint32_t(p + pass.step(prog.create[size_t(i)]));
    st.parent[n] = n;
  }
  for (int i = 0; i < prog.n_act; ++i) {
    const auto& a = prog.act[size_t(i)];
    if (a.critical) {
      if constexpr (!Dual) critical.push_back({r, uint32_t(p), a.join});
      continue;
    }
    st.parent[p + pass.step(a.src)] = pass.node(keys, p, a.dst);
    if (keep_diagonal) out.push_back({generator(r), generator(r)});
    if (joined) joined->mark(joined_id(pass, p, a.join), shared);
  }
  // The replay reads the dual pass backwards (decreasing flat index among equal values), so
  // one generator's joins go in by increasing code to come out by decreasing code: which of
  // them merges, not only the pairs' values, is then that of the filtration order.
  if constexpr (Dual)
    for (int i = prog.n_act - 1; i >= 0; --i)
      if (prog.act[size_t(i)].critical) critical.push_back({r, uint32_t(p), prog.act[size_t(i)].join});
  if constexpr (!UnionFindPass<Dual, D, C>::kAgeIsKey)
    for (int i = 0; i < prog.n_root; ++i)
      st.set_age(size_t(p + pass.step(prog.root[size_t(i)])), r);
}

// Replays the critical joins in filtration order on the pre-linked forest; `joined` as in visit.
// `sweep` (may be null; see union_find_passes) hears of every merging join as well.
template <bool Dual, int D, Construction C, class KeyT, class Sweep>
void replay(const UnionFindPass<Dual, D, C>& pass, const KeyT* keys, PassState<KeyT, Dual>& st,
            bool keep_diagonal, PairList& out, Bitset* joined, Sweep* sweep,
            CancelToken& cancel) {
  // Filtration order of the pass by a stable radix sort on 32 bits: a rank, or the value half of
  // a packed (value, flat index) key. Criticals were recorded in memory order, which is flat
  // index order, so stability supplies the index half of the tie-break (read backwards for the
  // decreasing pass), and joins of one generator come in the pass's code order (see visit).
  const size_t n = st.critical.size();
  std::vector<uint32_t> sort_key(n), order(n);
  for (size_t i = 0; i < n; ++i) {
    const size_t j = Dual ? n - 1 - i : i;
    const KeyT key = st.critical[j].key;
    const uint32_t v = sizeof(KeyT) == 8 ? uint32_t(uint64_t(key) >> 32) : uint32_t(key);
    sort_key[i] = Dual ? ~v : v;
    order[i] = uint32_t(j);
  }
  radix_sort(sort_key, order);
  for (uint32_t i : order) {
    const auto& c = st.critical[i];
    cancel.poll();
    uint32_t a = find_root(st.parent, pass.node(keys, c.owner, pass.join_a(c.join)), st.nodes);
    uint32_t b = find_root(st.parent, pass.node(keys, c.owner, pass.join_b(c.join)), st.nodes);
    if (a == b) continue;
    // The younger root dies: born later in the direction of the pass.
    if (Dual ? st.age[a] > st.age[b] : st.age[a] < st.age[b]) std::swap(a, b);
    if (keep_diagonal || st.age[a] != c.key)
      out.push_back(Dual ? RawPair{generator(c.key), generator(st.age[a])}
                         : RawPair{generator(st.age[a]), generator(c.key)});
    st.parent[a] = b;
    if (joined) joined->set(joined_id(pass, c.owner, c.join));
    if (sweep) sweep->merged(int64_t(c.owner), pass.join_code(c.join));
  }
}

// Appends `from` to `to` and frees it; the first range's list is moved, not copied (a copy would
// hold both at the memory peak).
template <class List> void append(List& to, List& from) {
  if (to.empty() && to.capacity() < from.size()) to.swap(from);
  else to.insert(to.end(), from.begin(), from.end());
  from = List();
}

// No sweep rides along with the union-find's (see union_find_passes).
struct NoSweep {
  struct Part {};
  std::vector<int> needed() const { return {}; }
  template <class Mask> void visit(Part&, int64_t, Mask, uint64_t, bool) {}
  void append(Part&) {}
  void merged(int64_t, int) {}
};

// Dimension 0 into `dim0` (if non-null) and dimension D-1 into `top` (if non-null), in one
// sweep. `keys`: the padded generator keys (ranks or packed keys; border = max).
// `positive` (may be null) receives the slot_ids of the (D-1)-cells that create a class: no
// reduced column of dimension D-2 has its pivot there, so that reduction drops them from its
// rows.
// `sweep` (may be null; needs dim0) visits every generator too, from the same neighbour mask
// (its neighbours joined to the probe), with the joins the primal program made zero-length
// (edges that kill a class), and hears of every critical join that merges (the other edges
// that kill): the zero-length pairs of dimension 1 (CoboundaryReducer::visit), cleared by
// exactly those edges, without a sweep or a mask of their own (an earlier version marked the
// edges in a bitset for a separate sweep to read).
template <int D, Construction C, class KeyT, class Sweep = NoSweep>
void union_find_passes(const Grid<D, C>& g, const KeyT* keys, bool keep_diagonal,
                       PairList* dim0, PairList* top, Bitset* positive, int threads,
                       CancelToken& cancel, Sweep* sweep = nullptr) {
  using Mask = typename Grid<D, C>::Mask;
  const UnionFindPass<false, D, C> primal(g);
  std::unique_ptr<UnionFindPass<true, D, C>> dual(top ? new UnionFindPass<true, D, C>(g) : nullptr);
  std::vector<int> needed = primal.needed();
  if (dual) needed.insert(needed.end(), dual->needed().begin(), dual->needed().end());
  if (sweep) {
    const std::vector<int> more = sweep->needed();
    needed.insert(needed.end(), more.begin(), more.end());
  }
  std::sort(needed.begin(), needed.end());
  needed.erase(std::unique(needed.begin(), needed.end()), needed.end());

  const auto probe = g.neighbour_probe(needed);
  const size_t nodes = size_t(g.pad.size);
  PassState<KeyT, false> s0(dim0 ? nodes : 0,
                            UnionFindPass<false, D, C>::kAgeIsKey ? keys : nullptr);
  std::unique_ptr<PassState<KeyT, true>> s1(
      top ? new PassState<KeyT, true>(nodes, UnionFindPass<true, D, C>::kAgeIsKey ? keys : nullptr)
          : nullptr);
  // Each range of generators writes only the nodes its generators own; criticals, zero-length
  // pairs (keep_diagonal) and the minimum are gathered per range and concatenated in order.
  struct Part {
    ChunkedList<typename PassState<KeyT, false>::Critical> crit0;
    ChunkedList<typename PassState<KeyT, true>::Critical> crit1;
    PairList out0, out1;
    KeyT min_key = ~KeyT(0);
    // The sweeping thread's program caches, looked up at its first run: in the shared module a
    // thread_local is a __tls_get_addr call (once per run of 64 generators: 1% of 3-D smooth).
    typename UnionFindPass<false, D, C>::Cache* cache0 = nullptr;
    typename UnionFindPass<true, D, C>::Cache* cache1 = nullptr;
    typename Sweep::Part swept;
  };
  auto parts = sweep_runs<Part>(g.pad, threads, cancel, [&](Part& part, int64_t p0, int n,
                                                            bool shared) {
    Mask masks[kRun];
    g.before_masks(keys, p0, n, probe, masks);
    if (!part.cache0) {
      part.cache0 = &UnionFindPass<false, D, C>::thread_cache();
      part.cache1 = &UnionFindPass<true, D, C>::thread_cache();
    }
    auto& cache0 = *part.cache0;
    auto& cache1 = *part.cache1;
    // Neighbouring generators of smooth data often have the same mask: their programs are
    // reused without a signature or a cache probe.
    const typename UnionFindPass<false, D, C>::Program* prog0 = nullptr;
    const typename UnionFindPass<true, D, C>::Program* prog1 = nullptr;
    Mask last = 0;
    for (int i = 0; i < n; ++i) {
      const int64_t p = p0 + i;
      const KeyT r = keys[p];
      part.min_key = std::min(part.min_key, r);
      if (i == 0 || masks[i] != last) {
        last = masks[i];
        if (dim0) prog0 = &primal.program(last, cache0);
        if (top) prog1 = &dual->program(last, cache1);
      }
      if (dim0)
        visit(primal, *prog0, keys, p, r, s0, part.crit0, keep_diagonal, part.out0, nullptr,
              shared);
      if (top)
        visit(*dual, *prog1, keys, p, r, *s1, part.crit1, keep_diagonal, part.out1, positive,
              shared);
      if (sweep) sweep->visit(part.swept, p, masks[i], prog0->zero_joins, shared);
    }
  });
  KeyT min_key = ~KeyT(0);
  for (Part& part : parts) {
    min_key = std::min(min_key, part.min_key);
    s0.critical.append(part.crit0);
    if (dim0) append(*dim0, part.out0);
    if (sweep) sweep->append(part.swept);
    if (top) {
      s1->critical.append(part.crit1);
      append(*top, part.out1);
    }
  }
  // The two replays share nothing: on two threads when there are two and the item is split
  // (128^3 noise: 170 ms of replays on one thread). On one, the dual pass first, then its state
  // goes: the primal one's criticals are the larger.
  const auto replay_dual = [&](CancelToken& c) {
    replay(*dual, keys, *s1, keep_diagonal, *top, positive, static_cast<NoSweep*>(nullptr), c);
    s1.reset();
  };
  const auto replay_primal = [&](CancelToken& c) {
    replay(primal, keys, s0, keep_diagonal, *dim0, nullptr, sweep, c);
    dim0->push_back({generator(min_key), kEssential});  // the box is connected
  };
  if (top && dim0 && parts.size() > 1) {
    run_threads(2, [&](int t) {
      CancelToken c = cancel.fork();
      t == 0 ? replay_dual(c) : replay_primal(c);
    });
    return;
  }
  if (top) replay_dual(cancel);
  if (dim0) replay_primal(cancel);
}

}  // namespace cuph
