// The CUDA launcher's host interface (launch.cu), free of CUDA headers so that the pybind11
// module (module.cpp) is compiled by the C++ compiler alone.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sequence.cuh"

namespace cuph {
namespace gpu {

// CUDA devices usable by this process; 0 without a driver or a device (never throws).
int device_count();
// The current device's name and free/total memory in bytes (std::runtime_error on failure).
std::string device_name();
void device_memory(size_t& free, size_t& total);

// The kernels of cubical_2d.cuh on the current device (sequence.cuh's run_2d), for n_items
// items of rows x cols. `in` points to device memory. `words` (host memory, may be
// null): words made on the host for dtypes without their own (has_word), else load_words
// makes them on the device. `stream`: the producer's stream of a device input, waited for
// before the first launch (0: none); `ro`: how the replay runs; the rows are downloaded where
// `sink` says (sequence.cuh's run_2d). Throws std::runtime_error naming the failed CUDA call.
using RowSink = std::function<Rows(uint64_t, const std::vector<uint32_t>&)>;
void run_cuda(const Tables2& t, const Input& in, bool superlevel, const uint32_t* words,
              int64_t n_items, int64_t rows, int64_t cols, int passes, uintptr_t stream,
              const ReplayOptions& ro, const RowSink& sink, RunResult& out);
// The current device's number, and making one current on this thread (the current device is
// per thread: a worker thread runs on device 0 until told otherwise).
int current_device();
void set_device(int device);
// The Betti kernels (betti.cuh, sequence.cuh's run_betti) on the current device for n_items
// items of the tables' shape; `eta` in host memory. beta_0 .. beta_{d-1} per item appended to
// out; nan_at as in RunResult (batch-flat element index within this launch).
void run_betti_cuda(const Input& in, const BettiTables& t, const double* eta, int64_t n_items,
                    uintptr_t stream, std::vector<int64_t>& out, uint64_t& nan_at);
// The device of a pointer (cudaPointerGetAttributes), -1 if it is not device memory.
int device_of(const void* ptr);
// A device copy of n bytes of host memory, freed with the object.
class DeviceCopy {
 public:
  DeviceCopy(const void* host, size_t n);
  ~DeviceCopy();
  DeviceCopy(const DeviceCopy&) = delete;
  DeviceCopy& operator=(const DeviceCopy&) = delete;
  const char* data() const { return static_cast<const char*>(ptr_); }

 private:
  void* ptr_ = nullptr;
};

}  // namespace gpu
}  // namespace cuph
