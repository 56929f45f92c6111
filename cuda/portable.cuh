// What lets one kernel body run on a GPU and on CPU threads: CUPH_HD marks a function for both,
// and the few atomics the bodies use go through this wrapper (CUDA atomics on the device, GCC's
// __atomic builtins on the host: the same read-modify-write as C++20's std::atomic_ref, which
// the C++17 core cannot name).
//
// A body is called once per element index by a launcher: the CUDA launcher (launch.cu) from a
// grid-stride loop, the CPU launcher (cpu_launcher.hpp) from a plain loop. Bodies of one launch
// may run in any order and at the same time, so they share memory only through these atomics
// or by writing disjoint elements; anything that needs every element of a launch done is a
// separate launch.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define CUPH_HD __host__ __device__
#else
#define CUPH_HD
#endif

namespace cuph {
namespace gpu {

// *p += v; returns the old value.
CUPH_HD inline uint32_t atomic_add(uint32_t* p, uint32_t v) {
#if defined(__CUDA_ARCH__)
  return atomicAdd(p, v);
#else
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
#endif
}

// *p = min(*p, v).
CUPH_HD inline void atomic_min(uint64_t* p, uint64_t v) {
#if defined(__CUDA_ARCH__)
  atomicMin(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
#else
  uint64_t old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (v < old &&
         !__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
#endif
}

}  // namespace gpu
}  // namespace cuph
