// The CUDA launcher: the primitives that the launch sequences of sequence.cuh (shared with the
// CPU launcher) need, and the device queries of launch.hpp.
#include <cuda_runtime.h>

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "launch.hpp"
#include "launch_profile.hpp"

namespace cuph {
namespace gpu {
namespace {

void check(cudaError_t err, const char* what) {
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // not sticky: the device stays usable
    throw OutOfMemory(std::string("x: the GPU ran out of memory (") + what +
                      "); pass a smaller max_memory, or use device='cpu'");
  }
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("cuph: CUDA ") + what + " failed: " +
                             cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
}
void check_launch(const char* kernel) {
  check(cudaGetLastError(), kernel);
}

// The launcher's wait for the device, for the launch profile (launch_profile.hpp).
struct DeviceSync {
  void operator()() const { check(cudaDeviceSynchronize(), "kernel execution"); }
};
using Step = ProfiledStep<DeviceSync>;
struct QuietSync {  // in a destructor: errors are the next check's to report
  void operator()() const { cudaDeviceSynchronize(); }
};

constexpr int kThreads = 256;
int blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return int(b < 65535 * 8 ? (b > 0 ? b : 1) : 65535 * 8);
}

// Every body of sequence.cuh, from a grid-stride loop.
template <class Body> __global__ void k_each(int64_t n, Body body) {
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < n;
       e += int64_t(gridDim.x) * blockDim.x)
    body(e);
}

// Every block body of sequence.cuh (launch_blocks): the phases of a block separated by
// barriers, blocks in a grid-stride loop (the last phase's barrier guards the memory's reuse).
// __launch_bounds__: registers for a block of up to 1024 threads (the block replay took 70 per
// thread without it, and 1024 x 72 exceeds a block's 65536).
template <class Body> __global__ void __launch_bounds__(1024) k_blocks(int64_t n, Body body) {
  extern __shared__ uint64_t block_memory[];
  for (int64_t blk = blockIdx.x; blk < n; blk += gridDim.x)
    for (int phase = 0;; ++phase) {
      const bool more = body(phase, blk, int(threadIdx.x), int(blockDim.x), block_memory);
      __syncthreads();
      if (!more) break;
    }
}

// The CUDA launcher's primitives for the sequences of sequence.cuh: device arrays (freed on
// every path out, errors included), launches on the default stream, downloads after a
// synchronisation that reports a failed kernel as such.
class CudaLauncher {
 public:
  CudaLauncher() = default;
  CudaLauncher(const CudaLauncher&) = delete;
  CudaLauncher& operator=(const CudaLauncher&) = delete;
  ~CudaLauncher() {
    ProfiledStep<QuietSync> step("cudaFree", QuietSync());
    for (void* p : arrays_) cudaFree(p);
    step.done();
  }
  template <class T> T* alloc(size_t n, const char* what) {
    Step step("cudaMalloc", DeviceSync());
    arrays_.reserve(arrays_.size() + 1);  // so that the push below cannot throw
    void* p = nullptr;
    check(cudaMalloc(&p, n ? n * sizeof(T) : 1), (std::string("cudaMalloc (") + what + ")").c_str());
    arrays_.push_back(p);
    step.done();
    return static_cast<T*>(p);
  }
  template <class T> T* filled(size_t n, uint8_t byte, const char* what) {
    T* a = alloc<T>(n, what);
    Step step("cudaMemset", DeviceSync());
    check(cudaMemset(a, byte, n * sizeof(T)), (std::string("cudaMemset (") + what + ")").c_str());
    step.done();
    return a;
  }
  template <class T> T* upload(const T* host, size_t n, const char* what) {
    T* a = alloc<T>(n, what);
    Step step("upload", DeviceSync());
    check(cudaMemcpy(a, host, n * sizeof(T), cudaMemcpyHostToDevice),
          (std::string("cudaMemcpy (") + what + ")").c_str());
    step.done();
    return a;
  }
  template <class T> void download(T* host, const T* a, size_t n) {
    check(cudaDeviceSynchronize(), "kernel execution");
    Step step("download", DeviceSync());
    check(cudaMemcpy(host, a, n * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy (to the host)");
    step.done();
  }
  template <class Body> void launch(const char* what, int64_t n, const Body& body) {
    Step step(what, DeviceSync());
    k_each<<<blocks_for(n), kThreads>>>(n, body);
    check_launch((std::string("kernel ") + what).c_str());
    step.done();
  }
  template <class Body>
  void launch_blocks(const char* what, int64_t n, int threads, uint64_t shared, const Body& body) {
    // Beyond the default 48 KiB a kernel must ask. Always for the device's most, so that calls
    // on other threads (the GIL is released) never lower the limit under a launch.
    if (shared > 48 * 1024)
      check(cudaFuncSetAttribute(k_blocks<Body>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 int(max_shared())),
            "cudaFuncSetAttribute (shared memory)");
    const int64_t grid = n < 1 ? 1 : (n < 65535 * 8 ? n : 65535 * 8);
    Step step(what, DeviceSync());
    k_blocks<<<int(grid), threads, size_t(shared)>>>(n, body);
    check_launch((std::string("kernel ") + what).c_str());
    step.done();
  }
  uint64_t max_shared() const {
    int dev = 0, bytes = 0;
    check(cudaGetDevice(&dev), "cudaGetDevice");
    check(cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev),
          "cudaDeviceGetAttribute (shared memory per block)");
    return uint64_t(bytes);
  }

 private:
  std::vector<void*> arrays_;
};

}  // namespace

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error of a missing driver or device
    return 0;
  }
  return n;
}

std::string device_name() {
  int dev = 0;
  check(cudaGetDevice(&dev), "cudaGetDevice");
  cudaDeviceProp prop;
  check(cudaGetDeviceProperties(&prop, dev), "cudaGetDeviceProperties");
  return prop.name;
}

void device_memory(size_t& free, size_t& total) {
  check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
}

int current_device() {
  int dev = 0;
  check(cudaGetDevice(&dev), "cudaGetDevice");
  return dev;
}

void set_device(int device) { check(cudaSetDevice(device), "cudaSetDevice"); }

int device_of(const void* ptr) {
  cudaPointerAttributes attr;
  if (cudaPointerGetAttributes(&attr, ptr) != cudaSuccess) {
    cudaGetLastError();
    return -1;
  }
  return attr.type == cudaMemoryTypeDevice || attr.type == cudaMemoryTypeManaged ? attr.device : -1;
}

DeviceBuffer::DeviceBuffer(size_t bytes, const char* what) : bytes_(bytes) {
  check(cudaGetDevice(&device_), "cudaGetDevice");
  check(cudaMalloc(&ptr_, bytes ? bytes : 1), (std::string("cudaMalloc (") + what + ")").c_str());
}

DeviceBuffer::~DeviceBuffer() {
  // On its own device: the last owner may be a Python array freed on any thread.
  int current = 0;
  const bool switched = cudaGetDevice(&current) == cudaSuccess && current != device_ &&
                        cudaSetDevice(device_) == cudaSuccess;
  cudaFree(ptr_);
  if (switched) cudaSetDevice(current);
}

Rows DeviceResult::operator()(uint64_t n, const std::vector<uint32_t>& counts) {
  for (uint32_t c : counts) offsets.push_back(offsets.back() + int64_t(c));
  Run run;
  run.rows = n;
  static const char* const what[kColumns] = {"dims", "births", "deaths", "birth indices",
                                             "death indices"};
  for (int c = 0; c < kColumns; ++c)
    run.column[c] = std::make_shared<DeviceBuffer>(size_t(n) * column_bytes(c), what[c]);
  Rows r;
  r.direct = true;
  r.at.never = superlevel_ ? -HUGE_VAL : HUGE_VAL;
  r.at.dim = static_cast<int8_t*>(run.column[0]->data());
  if (single) {
    r.at.birth32 = static_cast<float*>(run.column[1]->data());
    r.at.death32 = static_cast<float*>(run.column[2]->data());
  } else {
    r.at.birth = static_cast<double*>(run.column[1]->data());
    r.at.death = static_cast<double*>(run.column[2]->data());
  }
  r.at.birth_index = static_cast<int64_t*>(run.column[3]->data());
  r.at.death_index = static_cast<int64_t*>(run.column[4]->data());
  runs_.push_back(std::move(run));
  rows += n;
  return r;
}

void DeviceResult::finish() {
  check(cudaDeviceSynchronize(), "kernel execution");
  if (runs_.size() == 1) {
    for (int c = 0; c < kColumns; ++c) column[c] = std::move(runs_[0].column[c]);
  } else {
    // Column by column, each run's part freed once copied: the peak is the result and one
    // joined column.
    for (int c = 0; c < kColumns; ++c) {
      column[c] = std::make_shared<DeviceBuffer>(size_t(rows) * column_bytes(c), "result column");
      size_t at = 0;
      for (Run& run : runs_) {
        const size_t bytes = size_t(run.rows) * column_bytes(c);
        check(cudaMemcpy(static_cast<char*>(column[c]->data()) + at, run.column[c]->data(), bytes,
                         cudaMemcpyDeviceToDevice),
              "cudaMemcpy (joining result columns)");
        check(cudaDeviceSynchronize(), "cudaMemcpy (joining result columns)");
        run.column[c].reset();
        at += bytes;
      }
    }
  }
  runs_.clear();
}

uint64_t DeviceResult::bytes() const {
  uint64_t n = 0;
  for (int c = 0; c < kColumns; ++c) n += rows * column_bytes(c);
  return n;
}

DeviceCopy::DeviceCopy(const void* host, size_t n) {
  check(cudaMalloc(&ptr_, n ? n : 1), "cudaMalloc (input)");
  const cudaError_t err = cudaMemcpy(ptr_, host, n, cudaMemcpyHostToDevice);
  if (err != cudaSuccess) cudaFree(ptr_);
  check(err, "cudaMemcpy (input)");
}

DeviceCopy::~DeviceCopy() { cudaFree(ptr_); }

void run_cuda(const Tables2& t, const Input& in, bool superlevel, const uint32_t* words,
              int64_t n_items, int64_t rows, int64_t cols, int passes, uintptr_t stream,
              const ReplayOptions& ro, const RowSink& sink, RunResult& out) {
  // The producer's pending work on the input (CUDA array interface v3), then ours on the
  // default stream.
  if (stream) check(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(stream)), "waiting for the input's stream");
  CudaLauncher l;
  run_2d(l, t, in, superlevel, words, n_items, rows, cols, passes, ro, sink, out);
  // A direct sink's rows are written by launches no download waited for: they end (and a failed
  // one is reported) here, before the launcher frees the arrays they read.
  check(cudaDeviceSynchronize(), "kernel execution");
}

void run_cuda_nd(const TablesN& t, const Input& in, bool superlevel, const uint32_t* words,
                 int64_t n_items, uintptr_t stream, const ReplayOptions& ro, const RowSink& sink,
                 RunResult& out) {
  if (stream) check(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(stream)), "waiting for the input's stream");
  CudaLauncher l;
  run_nd(l, t, in, superlevel, words, n_items, ro, sink, out);
  check(cudaDeviceSynchronize(), "kernel execution");
}

void run_betti_cuda(const Input& in, const BettiTables& t, const double* eta, int64_t n_items,
                    uintptr_t stream, std::vector<int64_t>& out, uint64_t& nan_at) {
  if (stream) check(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(stream)), "waiting for the input's stream");
  CudaLauncher l;
  run_betti(l, t, in, eta, n_items, out, nan_at);
}

}  // namespace gpu
}  // namespace cuph
