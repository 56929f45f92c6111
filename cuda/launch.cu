// The CUDA launcher of the 2-D kernels: each body of cubical_2d.cuh from a grid-stride loop, in
// the order of the CPU launcher (host.hpp, run_cpu), with the prefix sum over items on the
// host between the two `local` launches.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "launch.hpp"

namespace cuph {
namespace gpu {
namespace {

void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("cuph: CUDA ") + what + " failed: " +
                             cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
}
void check_launch(const char* kernel) {
  check(cudaGetLastError(), kernel);
}

// Device memory freed on every path out of run_cuda.
struct DeviceBuffer {
  void* ptr = nullptr;
  DeviceBuffer() = default;
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() {
    if (ptr) cudaFree(ptr);
  }
  template <class T> T* alloc(size_t n, const char* what) {
    check(cudaMalloc(&ptr, n ? n * sizeof(T) : 1), what);
    return static_cast<T*>(ptr);
  }
};

constexpr int kThreads = 256;
int blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return int(b < 65535 * 8 ? (b > 0 ? b : 1) : 65535 * 8);
}

#define CUPH_GRID_STRIDE(e, n) \
  for (int64_t e = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; e < (n); \
       e += int64_t(gridDim.x) * blockDim.x)

__global__ void k_words(Batch2 b, int64_t n) {
  CUPH_GRID_STRIDE(e, n) load_words(b, e);
}
__global__ void k_betti_label(BettiBatch b, const BettiTables* __restrict__ t, int64_t n) {
  CUPH_GRID_STRIDE(e, n) betti_label(b, *t, e);
}
__global__ void k_betti_unite(BettiBatch b, const BettiTables* __restrict__ t, int64_t n) {
  CUPH_GRID_STRIDE(e, n) betti_unite(b, *t, e);
}
__global__ void k_betti_count(BettiBatch b, const BettiTables* __restrict__ t, int64_t n) {
  CUPH_GRID_STRIDE(e, n) betti_count(b, *t, e);
}
__global__ void k_pack(Batch2 b, int64_t n) {
  CUPH_GRID_STRIDE(e, n) pack_key(b, e);
}
__global__ void k_local(Batch2 b, const Tables2* __restrict__ t, int64_t n, bool fill) {
  CUPH_GRID_STRIDE(e, n) local(b, *t, e, fill);
}
__global__ void k_outside(Batch2 b, int64_t n) {
  CUPH_GRID_STRIDE(e, n) init_outside(b, e);
}
__global__ void k_replay(Batch2 b, const Tables2* __restrict__ t, int64_t n) {
  CUPH_GRID_STRIDE(e, n) replay(b, *t, e);
}

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

DeviceCopy::DeviceCopy(const void* host, size_t n) {
  check(cudaMalloc(&ptr_, n ? n : 1), "cudaMalloc (input)");
  const cudaError_t err = cudaMemcpy(ptr_, host, n, cudaMemcpyHostToDevice);
  if (err != cudaSuccess) cudaFree(ptr_);
  check(err, "cudaMemcpy (input)");
}

DeviceCopy::~DeviceCopy() { cudaFree(ptr_); }

void run_cuda(const Tables2& t, const Input& in, bool superlevel, const uint32_t* words,
              int64_t n_items, int64_t rows, int64_t cols, int passes, uintptr_t stream,
              RunResult& out) {
  Batch2 b(in, superlevel, n_items, rows, cols, passes);
  const int64_t nodes = n_items * b.nodes(), gens = n_items * rows * cols;
  // The producer's pending work on the input (CUDA array interface v3), then ours on the
  // default stream.
  if (stream) check(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(stream)), "waiting for the input's stream");

  DeviceBuffer d_tables, d_words, d_nan, d_keys, d_min, d_parent[2], d_age[2], d_count[2],
      d_start[2], d_fill[2], d_crit[2], d_pairs[2], d_npairs[2];
  Tables2* tables = d_tables.alloc<Tables2>(1, "cudaMalloc (tables)");
  check(cudaMemcpy(tables, &t, sizeof(t), cudaMemcpyHostToDevice), "cudaMemcpy (tables)");
  b.words = d_words.alloc<uint32_t>(size_t(gens), "cudaMalloc (value words)");
  if (words) {
    check(cudaMemcpy(b.words, words, size_t(gens) * 4, cudaMemcpyHostToDevice),
          "cudaMemcpy (value words)");
  } else {
    b.nan_at = d_nan.alloc<uint64_t>(1, "cudaMalloc (NaN flag)");
    check(cudaMemset(b.nan_at, 0xff, 8), "cudaMemset (NaN flag)");
    k_words<<<blocks_for(gens), kThreads>>>(b, gens);
    check_launch("kernel load_words");
    check(cudaMemcpy(&out.nan_at, b.nan_at, 8, cudaMemcpyDeviceToHost), "cudaMemcpy (NaN flag)");
    if (out.nan_at != ~uint64_t(0)) return;
  }
  b.keys = d_keys.alloc<uint64_t>(size_t(nodes), "cudaMalloc (keys)");
  b.min_key = d_min.alloc<uint64_t>(size_t(n_items), "cudaMalloc (minima)");
  check(cudaMemset(b.min_key, 0xff, size_t(n_items) * 8), "cudaMemset (minima)");
  for (int q = 0; q < passes; ++q) {
    b.parent[q] = d_parent[q].alloc<uint32_t>(size_t(nodes), "cudaMalloc (forest)");
    if (!t.pass[q].age_is_key) b.age[q] = d_age[q].alloc<uint64_t>(size_t(nodes), "cudaMalloc (ages)");
    b.count[q] = d_count[q].alloc<uint32_t>(size_t(n_items), "cudaMalloc (counts)");
    check(cudaMemset(b.count[q], 0, size_t(n_items) * 4), "cudaMemset (counts)");
    b.fill[q] = d_fill[q].alloc<uint32_t>(size_t(n_items), "cudaMalloc (counts)");
    check(cudaMemset(b.fill[q], 0, size_t(n_items) * 4), "cudaMemset (counts)");
  }

  k_pack<<<blocks_for(nodes), kThreads>>>(b, nodes);
  check_launch("kernel pack_key");
  k_local<<<blocks_for(gens), kThreads>>>(b, tables, gens, false);
  check_launch("kernel local");
  k_outside<<<blocks_for(n_items), kThreads>>>(b, n_items);
  check_launch("kernel init_outside");

  std::vector<uint32_t> count(static_cast<size_t>(n_items));
  for (int q = 0; q < passes; ++q) {
    check(cudaMemcpy(count.data(), b.count[q], size_t(n_items) * 4, cudaMemcpyDeviceToHost),
          "cudaMemcpy (counts)");
    std::vector<uint64_t>& start = out.start[q];
    start.assign(size_t(n_items) + 1, 0);
    for (int64_t i = 0; i < n_items; ++i) start[size_t(i) + 1] = start[size_t(i)] + count[size_t(i)];
    b.start[q] = d_start[q].alloc<uint64_t>(start.size(), "cudaMalloc (offsets)");
    check(cudaMemcpy(b.start[q], start.data(), start.size() * 8, cudaMemcpyHostToDevice),
          "cudaMemcpy (offsets)");
    b.crit[q] = d_crit[q].alloc<Critical>(size_t(start.back()), "cudaMalloc (critical joins)");
    b.pairs[q] = d_pairs[q].alloc<Pair>(size_t(start.back()) + size_t(n_items), "cudaMalloc (pairs)");
    b.n_pairs[q] = d_npairs[q].alloc<uint32_t>(size_t(n_items), "cudaMalloc (pair counts)");
  }
  k_local<<<blocks_for(gens), kThreads>>>(b, tables, gens, true);
  check_launch("kernel local (fill)");
  k_replay<<<blocks_for(n_items * passes), kThreads>>>(b, tables, n_items * passes);
  check_launch("kernel replay");
  check(cudaDeviceSynchronize(), "kernel execution");

  for (int q = 0; q < passes; ++q) {
    out.pairs[q].resize(size_t(out.start[q].back()) + size_t(n_items));
    check(cudaMemcpy(out.pairs[q].data(), b.pairs[q], out.pairs[q].size() * sizeof(Pair),
                     cudaMemcpyDeviceToHost),
          "cudaMemcpy (pairs)");
    out.n_pairs[q].resize(size_t(n_items));
    check(cudaMemcpy(out.n_pairs[q].data(), b.n_pairs[q], size_t(n_items) * 4,
                     cudaMemcpyDeviceToHost),
          "cudaMemcpy (pair counts)");
  }
}

void run_betti_cuda(const Input& in, const BettiTables& t, const double* eta, int64_t n_items,
                    uintptr_t stream, std::vector<int64_t>& out, uint64_t& nan_at) {
  if (stream) check(cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(stream)), "waiting for the input's stream");
  BettiBatch b;
  b.in = in;
  b.n_items = n_items;
  const int64_t cells = n_items * t.padded;
  const size_t ni = static_cast<size_t>(n_items);
  DeviceBuffer d_tables, d_eta, d_lab, d_parent, d_nan, d_roots0, d_roots1, d_plus, d_minus;
  BettiTables* tables = d_tables.alloc<BettiTables>(1, "cudaMalloc (tables)");
  check(cudaMemcpy(tables, &t, sizeof(t), cudaMemcpyHostToDevice), "cudaMemcpy (tables)");
  double* e = d_eta.alloc<double>(ni, "cudaMalloc (thresholds)");
  check(cudaMemcpy(e, eta, ni * 8, cudaMemcpyHostToDevice), "cudaMemcpy (thresholds)");
  b.eta = e;
  b.lab = d_lab.alloc<uint8_t>(size_t(cells), "cudaMalloc (labels)");
  b.parent = d_parent.alloc<uint32_t>(size_t(cells), "cudaMalloc (forest)");
  b.nan_at = d_nan.alloc<uint64_t>(1, "cudaMalloc (NaN flag)");
  check(cudaMemset(b.nan_at, 0xff, 8), "cudaMemset (NaN flag)");
  b.roots[0] = d_roots0.alloc<uint32_t>(ni, "cudaMalloc (counts)");
  b.roots[1] = d_roots1.alloc<uint32_t>(ni, "cudaMalloc (counts)");
  b.plus = d_plus.alloc<uint32_t>(ni, "cudaMalloc (counts)");
  b.minus = d_minus.alloc<uint32_t>(ni, "cudaMalloc (counts)");
  for (uint32_t* c : {b.roots[0], b.roots[1], b.plus, b.minus})
    check(cudaMemset(c, 0, ni * 4), "cudaMemset (counts)");
  k_betti_label<<<blocks_for(cells), kThreads>>>(b, tables, cells);
  check_launch("kernel betti_label");
  check(cudaMemcpy(&nan_at, b.nan_at, 8, cudaMemcpyDeviceToHost), "cudaMemcpy (NaN flag)");
  if (nan_at != ~uint64_t(0)) return;
  k_betti_unite<<<blocks_for(cells), kThreads>>>(b, tables, cells);
  check_launch("kernel betti_unite");
  k_betti_count<<<blocks_for(cells), kThreads>>>(b, tables, cells);
  check_launch("kernel betti_count");
  std::vector<uint32_t> c[4];
  const uint32_t* src[4] = {b.roots[0], b.roots[1], b.plus, b.minus};
  for (int k = 0; k < 4; ++k) {
    c[k].resize(ni);
    check(cudaMemcpy(c[k].data(), src[k], ni * 4, cudaMemcpyDeviceToHost), "cudaMemcpy (counts)");
  }
  const std::vector<int64_t> part = betti_of(t.d, c[0].data(), c[1].data(), c[2].data(),
                                             c[3].data(), n_items);
  out.insert(out.end(), part.begin(), part.end());
}

}  // namespace gpu
}  // namespace cuph
