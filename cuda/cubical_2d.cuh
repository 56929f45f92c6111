// Batched 2-D persistence (dimensions 0 and 1, V and T) as portable kernel bodies: the same
// algorithm as the CPU engine's union_find_passes (union_find.hpp), cut where a GPU needs a
// barrier.
//
//   pack_key     per padded generator: its packed key, (value word << 32) | flat index, unique
//                and order-preserving, ~0 on the border (no sort, no ranks);
//   local        per generator, twice: the neighbour mask picks a precompiled local program per
//                pass (the CPU engine's, copied into Tables2); the first launch creates nodes,
//                pre-links zero-length joins (each generator writes only the nodes it creates)
//                and counts the critical joins of each item; after a prefix sum over items, the
//                second launch writes them;
//   replay       per item (pass), sequentially: sorts the item's critical joins into the
//                order of the pass and runs them on the pre-linked forest with the elder rule.
//
// On smooth maps a few percent of the generators leave a critical join, so nearly all the
// work is in the element-parallel launches; the replay is one thread per item and pass.
// Generators, nodes and pairs are numbered within an item; item i's arrays start at
// i * (padded + 1) (the extra node is the outside of the dual pass).
#pragma once
#include <cstdint>

#include "cuph/portable.hpp"
#include "input.cuh"

namespace cuph {
namespace gpu {

constexpr int kSlots2 = 14;  // LocalProgram<2>::kMaxSlots
constexpr int kActs2 = 12;   // LocalProgram<2>::kMaxActs
constexpr int kJoins2 = 8;
constexpr uint32_t kNone = ~uint32_t(0);  // an essential death (diagram.hpp's kEssential)

struct Act2 {
  uint8_t critical, join, src, dst;
};
struct Program2 {
  uint8_t n_create, n_act, n_root;
  uint8_t create[kSlots2], root[kSlots2];
  Act2 act[kActs2];
};
// One pass: dimension 0 (primal, increasing order) or 1 (dual, decreasing; its nodes include
// the outside of the box).
struct Pass2 {
  Program2 prog[256];            // by neighbour mask
  int64_t slot_step[kSlots2];    // generator -> node slot, in padded indices
  int64_t slot_wit[kSlots2];     // dual: the generator that is border iff the slot is outside
  uint8_t join_a[kJoins2], join_b[kJoins2];  // the two node slots of each join
  uint8_t dual, age_is_key;      // age_is_key: a node's age is its own generator's key
};
struct Tables2 {
  Pass2 pass[2];
  int64_t nb_step[8];  // neighbour j of a generator (bit j of the mask)
  uint8_t v;           // V: neighbours with smaller keys come first; T: larger ones
};

struct Critical {
  uint64_t key;    // the generator's key
  uint32_t owner;  // its padded index
  uint32_t join;   // the join's index in the pass
};
struct Pair {
  uint32_t birth, death;  // flat indices; death kNone for an essential class
  double birth_value, death_value;  // the input's values there (death_value unset if essential)
};

// The device (or host) arrays of one batch of items of shape rows x cols.
struct Batch2 {
  int64_t n_items = 0, rows = 0, cols = 0, padded = 0;  // padded = (rows + 2) * (cols + 2)
  int passes = 1;                   // 2: the dual pass too (maxdim >= 1)
  Input in;                         // the values (read for words and for the pairs' values)
  bool superlevel = false;
  uint32_t* words = nullptr;        // n_items * rows * cols order-preserving value words
  uint64_t* nan_at = nullptr;       // the first NaN's element index (load_words), else ~0
  uint64_t* keys = nullptr;         // n_items * (padded + 1)
  uint32_t* parent[2] = {nullptr, nullptr};  // n_items * (padded + 1) per pass
  uint64_t* age[2] = {nullptr, nullptr};     // likewise, for passes without age_is_key
  uint64_t* min_key = nullptr;               // n_items, set to ~0 before `local`
  uint32_t* count[2] = {nullptr, nullptr};   // criticals per item (zeroed before `local`)
  uint64_t* start[2] = {nullptr, nullptr};   // n_items + 1: prefix sums of count
  uint32_t* fill[2] = {nullptr, nullptr};    // n_items, zeroed before the second `local`
  Critical* crit[2] = {nullptr, nullptr};    // start[p][n_items] each
  Pair* pairs[2] = {nullptr, nullptr};       // start[p][n_items] + n_items each
  uint32_t* n_pairs[2] = {nullptr, nullptr}; // n_items per pass
  CUPH_HD int64_t nodes() const { return padded + 1; }
  CUPH_HD int n_groups() const { return passes; }  // result groups per item (write_pair)
  CUPH_HD int dim_of(int q) const { return q; }

  Batch2() = default;
  // The shape and input of a batch; the launcher sets the arrays.
  Batch2(const Input& input, bool super, int64_t items, int64_t r, int64_t c, int n_passes)
      : n_items(items), rows(r), cols(c), padded((r + 2) * (c + 2)), passes(n_passes),
        in(input), superlevel(super) {}
};

// Element e of n_items * rows * cols: its value word (dtypes with has_word; superlevel: the
// word of the negated value, ~w). A NaN leaves its index in nan_at (the smallest one wins).
CUPH_HD inline void load_words(const Batch2& b, int64_t e) {
  const int64_t size = b.rows * b.cols, item = e / size, flat = e % size;
  uint32_t w;
  if (!value_word(b.in.dtype, element(b.in, item, flat), w)) {
    atomic_min(b.nan_at, uint64_t(e));
    w = 0;
  }
  b.words[e] = b.superlevel ? ~w : w;
}

// Element e of n_items * (padded + 1).
CUPH_HD inline void pack_key(const Batch2& b, int64_t e) {
  const int64_t item = e / b.nodes(), p = e % b.nodes();
  const int64_t w = b.cols + 2, r = p / w, c = p % w;
  uint64_t key = ~uint64_t(0);
  if (p < b.padded && r >= 1 && r <= b.rows && c >= 1 && c <= b.cols) {
    const int64_t flat = (r - 1) * b.cols + (c - 1);
    key = uint64_t(b.words[item * b.rows * b.cols + flat]) << 32 | uint64_t(flat);
  }
  b.keys[e] = key;
}

// The node of slot s around generator p of an item (keys, parent: the item's).
CUPH_HD inline uint32_t node_of(const Pass2& pass, const uint64_t* keys, int64_t padded, int64_t p,
                                int s) {
  if (pass.dual && keys[p + pass.slot_wit[s]] == ~uint64_t(0)) return uint32_t(padded);
  return uint32_t(p + pass.slot_step[s]);
}

// Element e of n_items * rows * cols (a generator); fill = false: the first launch, true: the
// second (criticals written at start[item] on).
CUPH_HD inline void local(const Batch2& b, const Tables2& t, int64_t e, bool fill) {
  const int64_t item = e / (b.rows * b.cols), flat = e % (b.rows * b.cols);
  const int64_t p = (flat / b.cols + 1) * (b.cols + 2) + flat % b.cols + 1;
  const int64_t base = item * b.nodes();
  const uint64_t* keys = b.keys + base;
  const uint64_t r = keys[p];
  unsigned mask = 0;
  for (int j = 0; j < 8; ++j) {
    const uint64_t nb = keys[p + t.nb_step[j]];
    mask |= unsigned(t.v ? nb < r : nb > r) << j;
  }
  if (!fill) atomic_min(&b.min_key[item], r);
  for (int q = 0; q < b.passes; ++q) {
    const Pass2& pass = t.pass[q];
    const Program2& prog = pass.prog[mask];
    if (fill) {
      for (int i = 0; i < prog.n_act; ++i) {
        // In any order (bodies race for slots): the replay sorts them.
        const Act2& a = prog.act[i];
        if (!a.critical) continue;
        const uint32_t at = atomic_add(&b.fill[q][item], 1u);
        b.crit[q][b.start[q][item] + at] = {r, uint32_t(p), a.join};
      }
      continue;
    }
    uint32_t* parent = b.parent[q] + base;
    for (int i = 0; i < prog.n_create; ++i) {
      const uint32_t n = uint32_t(p + pass.slot_step[prog.create[i]]);
      parent[n] = n;
    }
    uint32_t criticals = 0;
    for (int i = 0; i < prog.n_act; ++i) {
      const Act2& a = prog.act[i];
      if (a.critical) {
        ++criticals;
        continue;
      }
      parent[p + pass.slot_step[a.src]] = node_of(pass, keys, b.padded, p, a.dst);
    }
    if (criticals) atomic_add(&b.count[q][item], criticals);
    if (!pass.age_is_key)
      for (int i = 0; i < prog.n_root; ++i) b.age[q][base + p + pass.slot_step[prog.root[i]]] = r;
  }
}

// Element e of n_items (only after the first `local`): the outside node, which no generator
// creates. Its age is ~0, the largest key: the oldest class of the decreasing pass.
CUPH_HD inline void init_outside(const Batch2& b, int64_t item) {
  const int64_t base = item * b.nodes();
  for (int q = 0; q < b.passes; ++q) {
    b.parent[q][base + b.padded] = uint32_t(b.padded);
    if (b.age[q]) b.age[q][base + b.padded] = ~uint64_t(0);
  }
}

CUPH_HD inline uint32_t find_root(uint32_t* parent, uint32_t x) {
  while (parent[x] != x) {
    parent[x] = parent[parent[x]];  // path halving
    x = parent[x];
  }
  return x;
}

// The order of a pass's critical joins: by key (increasing for the primal pass, decreasing for
// the dual one), then by join index; the CPU engine's replay reads them in the same order.
CUPH_HD inline bool before(const Critical& x, const Critical& y, bool dual) {
  if (x.key != y.key) return dual ? x.key > y.key : x.key < y.key;
  return x.join < y.join;
}
// Heap sort: in place, O(n log n), no recursion (the device stack is small).
CUPH_HD inline void sort_criticals(Critical* c, int64_t n, bool dual) {
  auto sift = [&](int64_t i, int64_t end) {
    for (;;) {
      int64_t child = 2 * i + 1;
      if (child >= end) return;
      if (child + 1 < end && before(c[child], c[child + 1], dual)) ++child;
      if (!before(c[i], c[child], dual)) return;
      const Critical tmp = c[i];
      c[i] = c[child];
      c[child] = tmp;
      i = child;
    }
  };
  for (int64_t i = n / 2; i-- > 0;) sift(i, n);
  for (int64_t end = n; end-- > 1;) {
    const Critical tmp = c[0];
    c[0] = c[end];
    c[end] = tmp;
    sift(0, end);
  }
}

// The elder rule over an item's critical joins `crit[0, n)` of one pass, sorted by `before`,
// on its forest; pairs of positive length go to out, then the essential class of the primal
// pass. `parent`, `age`: the item's (global memory, or a block's shared copies); keys: the
// item's, read for the dual pass's border witnesses; value(key): the input's value at a key's
// element. Returns the number of pairs written.
template <class Value>
CUPH_HD uint32_t replay_sorted(const Pass2& pass, const Critical* crit, int64_t n,
                               uint32_t* parent, const uint64_t* age, const uint64_t* keys,
                               int64_t padded, uint64_t min_key, const Value& value, Pair* out) {
  uint32_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    const Critical& c = crit[i];
    const int64_t p = c.owner;
    uint32_t x = find_root(parent, node_of(pass, keys, padded, p, pass.join_a[c.join]));
    uint32_t y = find_root(parent, node_of(pass, keys, padded, p, pass.join_b[c.join]));
    if (x == y) continue;
    // The younger root dies: born later in the direction of the pass.
    if (pass.dual ? age[x] > age[y] : age[x] < age[y]) {
      const uint32_t tmp = x;
      x = y;
      y = tmp;
    }
    // A pair between equal values has length zero (ties): dropped, as index_pairs does.
    if (age[x] != c.key) {
      const uint64_t born = pass.dual ? c.key : age[x], dies = pass.dual ? age[x] : c.key;
      const double bv = value(born), dv = value(dies);
      if (bv != dv) out[kept++] = {uint32_t(born), uint32_t(dies), bv, dv};
    }
    parent[x] = y;
  }
  if (!pass.dual)  // the box is connected
    out[kept++] = {uint32_t(min_key), kNone, value(min_key), 0.0};
  return kept;
}

// The input's value at the element of a key of item `item`.
template <class B> struct ItemValueOf {
  const B* b;
  int64_t item;
  CUPH_HD double operator()(uint64_t key) const {
    return read_value(b->in.dtype, element(b->in, item, int64_t(uint32_t(key))));
  }
};
using ItemValue = ItemValueOf<Batch2>;

// Element e of n_items * passes: pass e % passes of item e / passes, on one thread in the
// batch's arrays (the replay of items whose block replay would not fit in shared memory).
CUPH_HD inline void replay(const Batch2& b, const Tables2& t, int64_t e) {
  const int q = int(e % b.passes);
  const int64_t item = e / b.passes;
  const Pass2& pass = t.pass[q];
  const int64_t base = item * b.nodes();
  const uint64_t* keys = b.keys + base;
  Critical* crit = b.crit[q] + b.start[q][item];
  const int64_t n = int64_t(b.start[q][item + 1] - b.start[q][item]);
  sort_criticals(crit, n, pass.dual);
  b.n_pairs[q][item] =
      replay_sorted(pass, crit, n, b.parent[q] + base, pass.age_is_key ? keys : b.age[q] + base,
                    keys, b.padded, b.min_key[item], ItemValue{&b, item},
                    b.pairs[q] + b.start[q][item] + item);
}

// The same replay with a thread block per item and pass (block e), phase by phase (a barrier
// between phases, see sequence.cuh's launch_blocks): the item's criticals, forest and ages are
// copied into shared memory, the criticals sorted there by a bitonic network (padded with
// entries that sort last to m, a power of two), and one thread replays them: every access of
// the sequential part then hits shared memory instead of global memory. `shared`: m Critical,
// then nodes() ages, then nodes() parents. Returns whether a phase follows.
struct BlockReplay {
  Batch2 b;
  const Tables2* t;
  static CUPH_HD int64_t padded_count(int64_t n) {
    int64_t m = 1;
    while (m < n) m *= 2;
    return m;
  }
  // Bytes of shared memory for items of `nodes` nodes and at most n criticals per pass.
  static CUPH_HD uint64_t shared_bytes(int64_t nodes, int64_t n) {
    return uint64_t(padded_count(n)) * sizeof(Critical) + uint64_t(nodes) * 12;
  }
  CUPH_HD bool operator()(int phase, int64_t e, int tid, int threads, uint64_t* shared) const {
    const int q = int(e % b.passes);
    const int64_t item = e / b.passes;
    const Pass2& pass = t->pass[q];
    const int64_t base = item * b.nodes(), nodes = b.nodes();
    const int64_t n = int64_t(b.start[q][item + 1] - b.start[q][item]);
    const int64_t m = padded_count(n);
    Critical* crit = reinterpret_cast<Critical*>(shared);
    uint64_t* age = shared + 2 * m;
    uint32_t* parent = reinterpret_cast<uint32_t*>(age + nodes);
    if (phase == 0) {
      const Critical* from = b.crit[q] + b.start[q][item];
      const Critical last = {pass.dual ? 0 : ~uint64_t(0), 0, ~uint32_t(0)};  // sorts last
      for (int64_t i = tid; i < m; i += threads) crit[i] = i < n ? from[i] : last;
      const uint64_t* ages = pass.age_is_key ? b.keys + base : b.age[q] + base;
      for (int64_t i = tid; i < nodes; i += threads) {
        age[i] = ages[i];
        parent[i] = b.parent[q][base + i];
      }
      return true;
    }
    // Phases 1 .. log2(m) (log2(m) + 1) / 2: the stages of the network, each a compare-exchange
    // at distance j within runs of k; the phase after them replays.
    int s = 0;
    for (int64_t k = 2; k <= m; k *= 2)
      for (int64_t j = k / 2; j > 0; j /= 2)
        if (++s == phase) {
          for (int64_t i = tid; i < m; i += threads) {
            const int64_t l = i ^ j;
            if (l <= i) continue;
            const bool up = (i & k) == 0;
            if (up ? before(crit[l], crit[i], pass.dual) : before(crit[i], crit[l], pass.dual)) {
              const Critical tmp = crit[i];
              crit[i] = crit[l];
              crit[l] = tmp;
            }
          }
          return true;
        }
    if (tid == 0)  // with the keys' shared copy where the ages are the keys
      b.n_pairs[q][item] = replay_sorted(pass, crit, n, parent, age,
                                         pass.age_is_key ? age : b.keys + base, b.padded,
                                         b.min_key[item], ItemValue{&b, item},
                                         b.pairs[q] + b.start[q][item] + item);
    return false;
  }
};

// The result columns of a run (the layout of the CPU engine's result, rows sorted by item, then
// dimension): `row[i * groups + k]` is the first row of item i's dimension-k pairs; birth32/
// death32 are set where float32 holds the dtype's values exactly, else birth/death.
struct Columns2 {
  int8_t* dim = nullptr;
  float *birth32 = nullptr, *death32 = nullptr;
  double *birth = nullptr, *death = nullptr;
  int64_t *birth_index = nullptr, *death_index = nullptr;
  const int64_t* row = nullptr;
  double never = 0;  // an essential class's death: +inf, or -inf for superlevel filtrations
};

// Element e of pass q's pair slots (start[q][n_items] + n_items of them; item i's are the
// n_pairs[q][i] from start[q][i] + i): the pair in slot e, if any, written to its row. The
// slot's item is found by a binary search over the items' first slots. B: Batch2 or BatchN
// (cubical_nd.cuh), whose passes give dimensions dim_of(q) of n_groups() per item.
template <class B> CUPH_HD void write_pair(const B& b, const Columns2& c, int q, int64_t e) {
  const uint64_t* start = b.start[q];
  int64_t lo = 0, hi = b.n_items;  // start[lo] + lo <= e < start[hi] + hi
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (int64_t(start[mid]) + mid <= e) lo = mid;
    else hi = mid;
  }
  const int64_t k = e - int64_t(start[lo]) - lo;
  if (k >= int64_t(b.n_pairs[q][lo])) return;  // a slot left empty
  const Pair& p = b.pairs[q][e];
  const int64_t r = c.row[lo * b.n_groups() + b.dim_of(q)] + k;
  const bool essential = p.death == kNone;
  const double death = essential ? c.never : p.death_value;
  c.dim[r] = int8_t(b.dim_of(q));
  if (c.birth32) {
    c.birth32[r] = float(p.birth_value);
    c.death32[r] = float(death);
  } else {
    c.birth[r] = p.birth_value;
    c.death[r] = death;
  }
  c.birth_index[r] = int64_t(p.birth);
  c.death_index[r] = essential ? -1 : int64_t(p.death);
}

}  // namespace gpu
}  // namespace cuph
