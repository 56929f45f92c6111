// The CUDA launcher's host interface (launch.cu), free of CUDA headers so that the pybind11
// module (module.cpp) is compiled by the C++ compiler alone.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cubical_2d.cuh"

namespace cuph {
namespace gpu {

// CUDA devices usable by this process; 0 without a driver or a device (never throws).
int device_count();
// The current device's name and free/total memory in bytes (std::runtime_error on failure).
std::string device_name();
void device_memory(size_t& free, size_t& total);

// What a run leaves on the host: per pass, the pairs at start[q][i] + i of item i
// (n_pairs[q][i] of them), as the CPU launcher leaves them in HostBatch2.
struct RunResult {
  std::vector<Pair> pairs[2];
  std::vector<uint32_t> n_pairs[2];
  std::vector<uint64_t> start[2];
};

// The kernels of cubical_2d.cuh on the current device, in the CPU launcher's order, for
// n_items items of rows x cols whose value words are `words` (host memory). Throws
// std::runtime_error naming the failed CUDA call.
void run_cuda(const Tables2& t, const uint32_t* words, int64_t n_items, int64_t rows, int64_t cols,
              int passes, RunResult& out);

}  // namespace gpu
}  // namespace cuph
