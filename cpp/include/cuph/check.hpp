// Debug-build bounds checks, and size arithmetic that refuses to overflow. Release builds
// (NDEBUG) compile CUPH_ASSERT away; the sanitizer job builds without NDEBUG so every check
// runs under the tests.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#ifdef NDEBUG
#define CUPH_ASSERT(cond) ((void)0)
#else
#define CUPH_ASSERT(cond) ((cond) ? (void)0 : ::cuph::assert_failed(#cond, __FILE__, __LINE__))
#endif

namespace cuph {

[[noreturn]] inline void assert_failed(const char* cond, const char* file, int line) {
  std::fprintf(stderr, "cuph: assertion failed: %s (%s:%d)\n", cond, file, line);
  std::abort();
}

// a * b for sizes (both >= 0); throws std::length_error naming `what` when it overflows int64.
inline int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r))
    throw std::length_error(std::string(what) + " overflows 64 bits");
  return r;
}

}  // namespace cuph
