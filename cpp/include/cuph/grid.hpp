// The cubical complex of one item. "Generators" carry the input values: the vertices for the V
// construction, the top cells for T. A cell's value is the max over its vertices (V) or the min
// over the top cells containing it (T); the generator that attains it "owns" the cell. Every
// cell is named from its owner: its offset from it, in {-1,0,1}^D, is a code (3^D of them, the
// owner's "star"). For V, a nonzero offset opens an interval towards that side; for T it closes
// one (the cell is on that face of the owner's top cell). The generators of the cell at offset
// `off` from g are g + o, o_a in {0, off_a}, for both constructions.
//
// The total order of cells of one dimension is the 64-bit key (rank(owner) << 7 | code). It
// refines the value order, puts faces before cofaces (same owner, fewer nonzero offsets for V;
// for T a face has more top cofaces, so its min rank is <= the coface's), and identifies the
// cell uniquely, so every algorithm compares plain integers. Generators are addressed by their
// index in the padded grid of filtration.hpp; a cell located there is a `Cell`,
// (padded index << 7) | code.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <initializer_list>
#include <type_traits>
#include <vector>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "check.hpp"
#include "filtration.hpp"

namespace cuph {

enum class Construction : int { V = 0, T = 1 };

using Cell = uint64_t;  // (owner's padded index << kCodeBits) | code
using Key = uint64_t;
constexpr int kCodeBits = 7;  // 3^4 = 81 offset codes

// A set of the 3^D - 1 neighbours of a generator (26 for D = 3, 80 for D = 4).
template <int D>
using NeighbourMask = typename std::conditional<(D <= 3), uint32_t, unsigned __int128>::type;

// One offset of the star {-1,0,1}^D around a generator: the cell at that offset.
template <int D> struct StarEntry {
  std::array<int8_t, D> off;
  uint8_t code;
};

// Up to 64 tests "every neighbour in req[k] comes before g", answered together for one
// neighbour mask: bit k of the result. Four tests per SSE2 step, over each 32-bit word of the
// masks kept apart (4-D masks are 128 bits: scalar tests of them were a fifth of 4-D union-find
// and sweeps).
template <class Mask> class MaskTests {
 public:
  void add(Mask req) {
    CUPH_ASSERT(req_.size() < 64);
    req_.push_back(req);
    // Padded to whole steps with tests that never pass (no mask has every bit of a word):
    // no scalar tail.
    for (auto& words : words_) words.resize((req_.size() + 3) & ~size_t(3), ~uint32_t(0));
    for (int w = 0; w < kWords; ++w) words_[size_t(w)][req_.size() - 1] = uint32_t(req >> (32 * w));
  }
  size_t size() const { return req_.size(); }
  uint64_t all_before(Mask before) const {
    const size_t n = req_.size();
    uint64_t out = 0;
    size_t k = 0;
#if defined(__SSE2__)
    __m128i after[kWords];
    for (int w = 0; w < kWords; ++w) after[w] = _mm_set1_epi32(int(~uint32_t(before >> (32 * w))));
    const __m128i zero = _mm_setzero_si128();
    for (; k < n; k += 4) {
      __m128i any = zero;
      for (int w = 0; w < kWords; ++w) {
        const __m128i r =
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(words_[size_t(w)].data() + k));
        any = _mm_or_si128(any, _mm_and_si128(r, after[w]));
      }
      out |= uint64_t(_mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(any, zero)))) << k;
    }
#endif
    for (; k < n; ++k) out |= uint64_t((req_[k] & ~before) == 0) << k;
    return out;
  }

 private:
  static constexpr int kWords = int((sizeof(Mask) + 3) / 4);
  std::vector<Mask> req_;
  std::array<std::vector<uint32_t>, kWords> words_;
};

template <int D, Construction C> struct Grid {
  static constexpr bool V = C == Construction::V;
  static constexpr int n_codes = D == 1 ? 3 : D == 2 ? 9 : D == 3 ? 27 : 81;
  using Mask = NeighbourMask<D>;

  PaddedShape<D> pad;
  int64_t n_gen = 1;
  const uint32_t* rank = nullptr;
  const uint32_t* order = nullptr;
  std::array<std::vector<StarEntry<D>>, D + 1> star;  // star[k]: offsets giving k-cells, by code
  std::array<uint8_t, 81> star_dim{}, star_place{};  // a code's dimension and index in star[dim]
  std::array<uint8_t, 81> star_size{};  // star[star_dim[code]].size(), without the indirection
  // Neighbour j of a generator (bit j of a Mask): its offset and padded index step.
  std::vector<std::array<int8_t, D>> nb_off;
  std::vector<int64_t> nb_step;
  // required[code]: the other generators of the cell at `code` from a generator; the cell is
  // owned by the generator iff all of them come before it (see before_mask).
  std::array<Mask, 81> required{};
  // slot_id(): per code, the step from its owner to the cell's lowest generator and the cell's
  // place among the cells of its dimension whose lowest generator that is.
  std::array<int64_t, 81> slot_step{};
  std::array<uint8_t, 81> slot_place{};
  std::array<uint8_t, D + 1> n_slots{};  // C(D, k): k-cells starting at one generator
  std::array<uint8_t, 81> slot_count{};  // n_slots of each code's dimension

  // `r` may be null when the item is keyed without ranks (no middle dimensions).
  Grid(const int64_t* shape, const Ranking* r, const PaddedShape<D>& p)
      : pad(p), rank(r ? r->rank.data() : nullptr), order(r ? r->order.data() : nullptr) {
    for (int i = 0; i < D; ++i) n_gen *= shape[i];
    for (int code = 0; code < n_codes; ++code) {
      StarEntry<D> e{};
      e.code = uint8_t(code);
      int c = code, nonzero = 0;
      int64_t step = 0;
      for (int i = 0; i < D; ++i) {
        e.off[i] = int8_t(c % 3 - 1);
        c /= 3;
        nonzero += e.off[i] != 0;
        step += e.off[i] * pad.stride[i];
      }
      // V: the generator is a vertex, each nonzero offset opens an interval.
      // T: the generator is a top cell, each nonzero offset closes one.
      const int k = V ? nonzero : D - nonzero;
      star_dim[size_t(code)] = uint8_t(k);
      // The lowest generator is one step down along every axis where the offset is -1; the
      // cell's pattern has a bit for each axis where the offset is nonzero.
      unsigned pat = 0;
      for (int i = 0; i < D; ++i) {
        if (e.off[i] == -1) slot_step[size_t(code)] -= pad.stride[i];
        if (e.off[i] != 0) pat |= 1u << i;
      }
      slot_place[size_t(code)] = uint8_t(pat);  // a pattern for now: its place is set below
      star_place[size_t(code)] = uint8_t(star[size_t(k)].size());
      star[size_t(k)].push_back(e);
      if (nonzero) {
        nb_off.push_back(e.off);
        nb_step.push_back(step);
      }
    }
    // The other generators of the cell g + off are g + o with o_i in {0, off_i}, o != 0.
    for (int code = 0; code < n_codes; ++code) {
      int off[D], c = code;
      for (int i = 0; i < D; ++i) { off[i] = c % 3 - 1; c /= 3; }
      Mask m = 0;
      for (size_t j = 0; j < nb_off.size(); ++j) {
        bool sub = true;
        for (int i = 0; i < D; ++i) sub &= nb_off[j][i] == 0 || nb_off[j][i] == off[i];
        if (sub) m |= Mask(1) << j;
      }
      required[size_t(code)] = m;
    }
    std::array<uint8_t, 16> pat_place{};
    for (unsigned pat = 0; pat < (1u << D); ++pat) {
      const int ones = __builtin_popcount(pat);
      pat_place[pat] = n_slots[size_t(V ? ones : D - ones)]++;
    }
    for (int code = 0; code < n_codes; ++code) {
      slot_place[size_t(code)] = pat_place[slot_place[size_t(code)]];
      slot_count[size_t(code)] = n_slots[star_dim[size_t(code)]];
      star_size[size_t(code)] = uint8_t(star[star_dim[size_t(code)]].size());
    }
  }

  // The neighbours needed to decide ownership of the star cells of the given dimensions.
  std::vector<int> neighbours_for(std::initializer_list<int> dims) const {
    Mask need = 0;
    for (int k : dims)
      for (const auto& e : star[size_t(k)]) need |= required[e.code];
    std::vector<int> list;
    for (size_t j = 0; j < nb_step.size(); ++j)
      if ((need >> j) & 1) list.push_back(int(j));
    return list;
  }
  // The padded-index steps of a list of neighbours and their bits in a Mask.
  // By increasing bit, so that the neighbours of each 32-bit word of a Mask are contiguous:
  // word w's are [word_end[w - 1], word_end[w]).
  struct Probe {
    std::vector<int64_t> step;
    std::vector<int> bit;
    std::vector<uint32_t> word_bit;  // 1 << (bit % 32)
    std::array<size_t, (sizeof(Mask) + 3) / 4> word_end{};
  };
  Probe neighbour_probe(std::vector<int> list) const {
    std::sort(list.begin(), list.end());
    Probe pr;
    for (int j : list) {
      pr.step.push_back(nb_step[size_t(j)]);
      pr.bit.push_back(j);
      pr.word_bit.push_back(uint32_t(1) << (j & 31));
      for (size_t w = size_t(j >> 5); w < pr.word_end.size(); ++w) pr.word_end[w] = pr.bit.size();
    }
    return pr;
  }
  // The neighbours of generator p (key r) that come before it in the filtration, among those
  // of the probe (in 1-D and 2-D: all of them): lower key for V, higher key for T. Border
  // generators have the largest key, so they never precede a vertex and always precede a top
  // cell (a missing top cell owns nothing), which handles the item's boundary without a test.
  // Branch-free: the comparisons are unpredictable on noisy data.
  template <class KeyT> Mask before_mask(const KeyT* keys, int64_t p, KeyT r, const Probe& pr) const {
    Mask m = 0;
    const KeyT* at = keys + p;
    if (D <= 2) {  // all 3^D - 1 neighbours, a loop the compiler unrolls
      constexpr int n = D == 1 ? 2 : 8;
      for (int j = 0; j < n; ++j) {
        const KeyT rk = at[nb_step[size_t(j)]];
        m |= Mask(V ? rk < r : rk > r) << j;
      }
      return m;
    }
    for (size_t j = 0; j < pr.step.size(); ++j) {
      const KeyT rk = at[pr.step[j]];
      m |= Mask(V ? rk < r : rk > r) << pr.bit[j];
    }
    return m;
  }
  // The masks of n consecutive generators p0 .. p0 + n - 1 of a row: with 32-bit keys, four
  // generators per vector compare (neighbour j of four consecutive generators is four
  // consecutive keys), where before_mask does 3^D - 1 scalar compare-and-shifts per generator.
  template <class KeyT>
  void before_masks(const KeyT* keys, int64_t p0, int n, const Probe& pr, Mask* out) const {
    const KeyT* at = keys + p0;
    int done = 0;
#if defined(__SSE2__)
    // 32-bit ranks: explicit, since GCC's cost model leaves this loop scalar. A mask is built
    // as 32-bit words (one in 3-D, four for the 80 bits of 4-D), four generators per vector.
    if constexpr (std::is_same<KeyT, uint32_t>::value) {
      constexpr int kWords = int(sizeof(Mask) / 4);
      const __m128i flip = _mm_set1_epi32(int(0x80000000u));  // unsigned order via signed compare
      for (; done + 4 <= n; done += 4) {
        const __m128i here = _mm_xor_si128(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(at + done)), flip);
        alignas(16) uint32_t word[kWords][4];
        size_t j = 0;
        for (int w = 0; w < kWords; ++w) {  // one word at a time: its accumulator in a register
          __m128i acc = _mm_setzero_si128();
          for (; j < pr.word_end[size_t(w)]; ++j) {
            const __m128i nb = _mm_xor_si128(
                _mm_loadu_si128(reinterpret_cast<const __m128i*>(at + done + pr.step[j])), flip);
            const __m128i earlier = V ? _mm_cmpgt_epi32(here, nb) : _mm_cmpgt_epi32(nb, here);
            acc = _mm_or_si128(acc, _mm_and_si128(earlier, _mm_set1_epi32(int(pr.word_bit[j]))));
          }
          _mm_store_si128(reinterpret_cast<__m128i*>(word[w]), acc);
        }
        for (int i = 0; i < 4; ++i) {
          Mask m = 0;
          for (int w = 0; w < kWords; ++w) m |= Mask(word[w][i]) << (32 * w);
          out[done + i] = m;
        }
      }
    }
#endif
    for (int i = done; i < n; ++i) out[i] = before_mask(keys, p0 + i, at[i], pr);
  }
  // Neighbour index of a generator offset (each entry in {-1,0,1}), -1 for the zero offset.
  int neighbour_of(const int* off) const {
    for (size_t j = 0; j < nb_off.size(); ++j) {
      bool same = true;
      for (int i = 0; i < D; ++i) same &= nb_off[j][i] == off[i];
      if (same) return int(j);
    }
    return -1;
  }

  // Index of a k-cell in a bitset of them: its lowest generator, times C(D, k), plus the cell's
  // place among the k-cells whose lowest generator that is. C(D, k) bits per generator in memory
  // order, so a lookup lands next to the ranks of the cell's generators (3-D faces: 3 bits per
  // voxel, where a cell_id needs 12).
  size_t slot_id(int64_t owner, int code) const {
    return size_t(owner + slot_step[size_t(code)]) * slot_count[size_t(code)] +
           slot_place[size_t(code)];
  }
  size_t n_slot_ids(int k) const { return size_t(pad.size) * n_slots[size_t(k)]; }
  // The cell with a given key, located at its owner (the key's rank, through order[]); `slot`
  // (may be null) receives its slot_id.
  Cell locate(Key k, size_t* slot = nullptr) const {
    const int64_t owner = order[k >> kCodeBits];
    const int code = int(k & ((1u << kCodeBits) - 1));
    if (slot) *slot = slot_id(owner, code);
    return (Cell(owner) << kCodeBits) | Cell(code);
  }
  // Index of a k-cell in the clearing bitsets of dimension k: its owner's padded index times the
  // number of k-cells in a star, plus the cell's place among them (3-D edges: 6 per generator,
  // not 27, so a bitset costs 6 bits per voxel).
  size_t cell_id(int64_t owner, int code) const {
    return size_t(owner) * star_size[size_t(code)] + size_t(star_place[size_t(code)]);
  }
  size_t cell_id(Key key) const {
    return cell_id(order[key >> kCodeBits], int(key & ((1u << kCodeBits) - 1)));
  }
  size_t n_cell_ids(int k) const { return size_t(pad.size) * star[size_t(k)].size(); }
  // The same numbering by the owner's rank instead of its padded index: computed from a key
  // alone, without the dependent load of order[].
  size_t rank_cell_id(uint64_t owner_rank, int code) const {
    return size_t(owner_rank) * star_size[size_t(code)] + star_place[size_t(code)];
  }
  size_t rank_cell_id(Key key) const {
    return rank_cell_id(key >> kCodeBits, int(key & ((1u << kCodeBits) - 1)));
  }
  size_t n_rank_cell_ids(int k) const { return size_t(n_gen) * star[size_t(k)].size(); }
  // The key of the k-cell with a given rank_cell_id (its inverse). The k-cells of one owner are
  // numbered by increasing code, so descending ids are descending keys.
  Key key_of_rank_cell_id(size_t id, int k) const {
    const auto& cells = star[size_t(k)];
    return (Key(id / cells.size()) << kCodeBits) | cells[id % cells.size()].code;
  }
  // Starts loading what locate(key) reads.
  void prefetch_owner(Key key) const { __builtin_prefetch(order + (key >> kCodeBits)); }
  // Starts loading the ranks a coboundary reads for the cells around generator p (the rows
  // beside it).
  void prefetch_around(int64_t p) const {
    for (int i = 0; i < D; ++i) {
      __builtin_prefetch(rank + p - pad.stride[i]);
      __builtin_prefetch(rank + p + pad.stride[i]);
    }
  }
};

}  // namespace cuph
