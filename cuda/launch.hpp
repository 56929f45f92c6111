// The CUDA launcher's host interface (launch.cu), free of CUDA headers so that the pybind11
// module (module.cpp) is compiled by the C++ compiler alone.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sequence.cuh"

namespace cuph {
namespace gpu {

// A device allocation failed for want of memory (a MemoryError in Python).
struct OutOfMemory : std::runtime_error {
  using std::runtime_error::runtime_error;
};

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
// The kernels of cubical_nd.cuh (sequence.cuh's run_nd) on the current device, as run_cuda.
void run_cuda_nd(const TablesN& t, const Input& in, bool superlevel, const uint32_t* words,
                 int64_t n_items, uintptr_t stream, const ReplayOptions& ro, const RowSink& sink,
                 RunResult& out);
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
// Device memory on the current device, freed (on its device) with the object: a column of a
// device result, shared by the Python arrays that view it.
class DeviceBuffer {
 public:
  DeviceBuffer(size_t bytes, const char* what);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  int device() const { return device_; }

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
  int device_ = 0;
};

// The result columns of a batch left in device memory (results for a device input): the sink of
// its runs (run_cuda's), each run's rows in buffers of their own; finish() waits for the
// kernels (reporting a failed one) and joins the runs into one buffer per column. Then `rows`
// rows, with `offsets` as in _core.compute, values in float32 iff `single`.
class DeviceResult {
 public:
  DeviceResult(bool single_values, bool superlevel)
      : single(single_values), superlevel_(superlevel) {}
  Rows operator()(uint64_t rows, const std::vector<uint32_t>& counts);
  void finish();
  uint64_t bytes() const;  // of the rows held so far
  static constexpr int kColumns = 5;  // dim, birth, death, birth_index, death_index
  size_t column_bytes(int c) const { return c == 0 ? 1 : c <= 2 ? (single ? 4 : 8) : 8; }

  bool single;
  uint64_t rows = 0;
  std::vector<int64_t> offsets{0};
  std::shared_ptr<DeviceBuffer> column[kColumns];

 private:
  bool superlevel_;
  struct Run {
    uint64_t rows;
    std::shared_ptr<DeviceBuffer> column[kColumns];
  };
  std::vector<Run> runs_;
};

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
