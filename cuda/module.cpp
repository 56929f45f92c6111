// cuph._cuda: the GPU engine's Python module. It imports on a machine without a GPU or a driver
// (cudart is linked statically; device_count() is then 0), so `cuph.cuda_available()` can ask.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "cpp/bindings/common.hpp"
#include "cuda/host.hpp"
#include "cuda/launch.hpp"

namespace py = pybind11;
using namespace cuph;

namespace {

using namespace cuph_bindings;

struct Shape2 {
  int64_t n_items, rows, cols;
};

// How many items of a batch go to the device at once: all that fit in 80% of its free memory
// (the same pairs either way); MemoryError, raised here with the GIL held, if one does not.
// `max_bytes` (0: none) lowers that bound: the user's max_memory.
int64_t items_per_launch(const Shape2& s, size_t per_item, size_t max_bytes) {
  size_t free = 0, total = 0;
  gpu::device_memory(free, total);
  size_t usable = free / 10 * 8;
  if (max_bytes) usable = std::min(usable, max_bytes);
  if (per_item > usable) {
    PyErr_SetString(PyExc_MemoryError,
                    ("x: one " + std::to_string(s.rows) + "x" + std::to_string(s.cols) +
                     " item needs about " + std::to_string(per_item >> 20) + " MiB of GPU memory, " +
                     std::to_string(usable >> 20) + " MiB are free; use device='cpu'")
                        .c_str());
    throw py::error_already_set();
  }
  return int64_t(std::max<size_t>(1, usable / per_item));
}
// Device bytes of one item for the persistence kernels, beyond its input.
size_t persistence_bytes(const Shape2& s, int passes) {
  return gpu::batch_bytes(1, s.rows, s.cols, passes) + size_t(s.rows * s.cols) * 4;
}

// The construction; ValueError for bad arguments, RuntimeError without a device.
Construction check_common(const std::string& construction, int maxdim) {
  const Construction con = construction_arg(construction);
  if (maxdim < 0 || maxdim > 1) throw py::value_error("maxdim: must be 0 or 1 for 2-D items");
  if (gpu::device_count() == 0)
    throw std::runtime_error("device: no CUDA device is usable; use device='cpu'");
  return con;
}

// Runs the batch in chunks; `run(first, n, result)` runs items [first, first + n).
template <class Run>
BatchResult run_chunks(const Shape2& s, int64_t chunk, int passes, int maxdim, bool superlevel,
                       DType dtype, Run run) {
  std::vector<gpu::Pair> pairs;
  std::vector<uint64_t> counts(size_t(s.n_items) * size_t(passes));
  for (int64_t first = 0; first < s.n_items; first += chunk) {
    const int64_t n = std::min(chunk, s.n_items - first);
    gpu::RunResult r;
    run(first, n, r);
    if (r.nan_at != ~uint64_t(0)) gpu::throw_nan(uint64_t(first * s.rows * s.cols) + r.nan_at, s.rows * s.cols);
    gpu::collect(pairs, counts, first, n, passes, r.pairs, r.n_pairs, r.start);
  }
  return gpu::assemble(pairs, counts, maxdim, superlevel, dtype);
}

// The kernels' view of a C-contiguous batch of n items (`item`: their shape).
gpu::Input contiguous_input(const char* base, int dtype, int64_t n, const ItemView& item,
                            int64_t itemsize) {
  gpu::Input in;
  in.base = base;
  in.dtype = dtype;
  in.ndim = item.ndim;
  int64_t step = itemsize;
  for (int i = item.ndim - 1; i >= 0; --i) {
    in.shape[i] = item.shape[i];
    in.stride[i] = step;
    step *= item.shape[i];
  }
  in.nbatch = 1;
  in.bshape[0] = n;
  in.bstride[0] = step;
  return in;
}

// A host batch of 2-D items (C-contiguous: the Python layer makes it so), copied to the device
// chunk by chunk. Dtypes of more than 32 bits get their value words on the host.
py::dict compute_2d(const py::array& x, int maxdim, const std::string& construction,
                    int batch_dims, int n_threads, bool superlevel, size_t max_bytes) {
  const Construction con = check_common(construction, maxdim);
  const BatchView b = batch_view(x, batch_dims, 4);
  gpu::check_2d(b);  // std::invalid_argument: a ValueError
  if (!(x.flags() & py::array::c_style)) throw py::value_error("x: must be C-contiguous here");
  const Shape2 s{b.n_items(), b.item.shape[0], b.item.shape[1]};
  const int passes = maxdim + 1;
  const size_t item_bytes = size_t(s.rows * s.cols) * size_t(x.itemsize());
  const int64_t chunk = items_per_launch(s, persistence_bytes(s, passes) + item_bytes, max_bytes);
  const int threads = thread_count(n_threads);
  const int dtype = int(b.item.dtype);
  return pairs_dict(run_batch(b, [&](const std::atomic<bool>* cancel) {
    std::vector<uint32_t> words;
    if (!gpu::has_word(dtype)) words = gpu::batch_words(b, superlevel, threads, cancel);
    const gpu::Tables2 t = gpu::make_tables(s.rows, s.cols,
                                            con);
    return run_chunks(s, chunk, passes, maxdim, superlevel, b.item.dtype,
                      [&](int64_t first, int64_t n, gpu::RunResult& r) {
      struct Upload {
        void* p;
        ~Upload() { gpu::free_device(p); }
      } up{gpu::copy_to_device(b.item.base + size_t(first) * item_bytes, size_t(n) * item_bytes)};
      gpu::Input in = contiguous_input(static_cast<const char*>(up.p), dtype, n, b.item,
                                       int64_t(x.itemsize()));
      gpu::run_cuda(t, in, superlevel, words.empty() ? nullptr : words.data() + first * s.rows * s.cols,
                    n, s.rows, s.cols, passes, 0, r);
    });
  }));
}

// The kernels' view of a batch in device memory (checked to be on the current device) with
// 2 item axes, or 2 or 3 when `three` is allowed; returns the number of items.
int64_t device_input(uintptr_t ptr, const std::vector<int64_t>& shape,
                     const std::vector<int64_t>& strides, int dtype, int batch_dims, bool three,
                     gpu::Input& in) {
  const int nd = int(shape.size()), d = nd - batch_dims;
  if (batch_dims < 0 || batch_dims > 8 || strides.size() != shape.size() || d < 2 ||
      d > (three ? 3 : 2))
    throw py::value_error(std::string("x: expected batch axes and ") + (three ? "2 or 3" : "2") +
                          " item axes");
  if (dtype < 0 || dtype > gpu::kB8) throw py::type_error("x: unknown dtype number");
  const int dev = gpu::device_of(reinterpret_cast<const void*>(ptr)), current = gpu::current_device();
  if (dev < 0) throw py::value_error("x: its __cuda_array_interface__ pointer is not device memory");
  if (dev != current)
    throw py::value_error("x: is on cuda:" + std::to_string(dev) + " but the current device is cuda:" +
                          std::to_string(current) + "; make it current (torch.cuda.set_device(" +
                          std::to_string(dev) + ") or cupy.cuda.Device(" + std::to_string(dev) +
                          ").use()) or move x");
  in.base = reinterpret_cast<const char*>(ptr);
  in.dtype = dtype;
  in.nbatch = batch_dims;
  int64_t n_items = 1, padded = 1;
  for (int i = 0; i < batch_dims; ++i) {
    in.bshape[i] = shape[size_t(i)];
    in.bstride[i] = strides[size_t(i)];
    n_items *= shape[size_t(i)];
  }
  in.ndim = d;
  for (int i = 0; i < d; ++i) {
    in.shape[i] = shape[size_t(batch_dims + i)];
    in.stride[i] = strides[size_t(batch_dims + i)];
    if (in.shape[i] < 1) throw py::value_error("x: empty array (an item axis has length 0)");
    padded *= in.shape[i] + 2;
  }
  if (padded + 1 >= (int64_t(1) << 32)) throw py::value_error("x: an item of 2^32 or more cells");
  return n_items;
}

// A NaN of a device batch, reported as the CPU engine reports it (with the GIL held).
[[noreturn]] void throw_device_nan(const ItemError& e, const std::vector<int64_t>& shape,
                                   int batch_dims) {
  BatchView where;
  where.nbatch = batch_dims;
  for (int i = 0; i < batch_dims; ++i) where.bshape[i] = shape[size_t(i)];
  where.item.ndim = int(shape.size()) - batch_dims;
  for (int i = 0; i < where.item.ndim; ++i) where.item.shape[i] = shape[size_t(batch_dims + i)];
  try {
    std::rethrow_exception(e.error);
  } catch (const NanError& nan) {
    throw py::value_error("x: contains NaN at index " + batch_position(where, e.item, nan.position) +
                          "; NaN is not a filtration value (replace it, e.g. with "
                          "torch.nan_to_num or +inf to leave the cell out)");
  }
}

// A batch of 2-D items in device memory (a torch or cupy array's __cuda_array_interface__),
// read in place through its strides. Only dtypes of at most 32 bits (the Python layer copies
// wider ones to the host).
py::dict compute_2d_device(uintptr_t ptr, const std::vector<int64_t>& shape,
                           const std::vector<int64_t>& strides, int dtype, uintptr_t stream,
                           int maxdim, const std::string& construction, int batch_dims,
                           bool superlevel, size_t max_bytes) {
  const Construction con = check_common(construction, maxdim);
  if (!gpu::has_word(dtype))
    throw py::type_error("x: 64-bit dtypes on the GPU are read on the host (copy x to the host)");
  gpu::Input in;
  const int64_t n_items = device_input(ptr, shape, strides, dtype, batch_dims, false, in);
  const Shape2 s{n_items, in.shape[0], in.shape[1]};
  const int passes = maxdim + 1;
  const int64_t chunk = items_per_launch(s, persistence_bytes(s, passes), max_bytes);
  BatchResult r;
  try {
    py::gil_scoped_release release;
    const gpu::Tables2 t = gpu::make_tables(s.rows, s.cols,
                                            con);
    r = run_chunks(s, chunk, passes, maxdim, superlevel, DType(dtype),
                   [&](int64_t first, int64_t n, gpu::RunResult& out) {
      gpu::Input part = in;
      part.item0 = first;
      gpu::run_cuda(t, part, superlevel, nullptr, n, s.rows, s.cols, passes,
                    first == 0 ? stream : 0, out);
    });
  } catch (const ItemError& e) {
    throw_device_nan(e, shape, batch_dims);
  }
  return pairs_dict(std::move(r));
}

// Betti numbers of {x <= eta} per 2-D or 3-D item (betti.cuh), in chunks of items that fit;
// `host_item_bytes` non-zero: `in` is a C-contiguous host batch, copied chunk by chunk.
std::vector<int64_t> betti_chunks(const gpu::Input& in, int64_t n_items, const double* eta,
                                  Construction con, uintptr_t stream, size_t max_bytes,
                                  int64_t host_item_bytes) {
  const gpu::BettiTables t = gpu::make_betti_tables(in.ndim, in.shape, con);
  size_t free = 0, total = 0;
  gpu::device_memory(free, total);
  size_t usable = free / 10 * 8;
  if (max_bytes) usable = std::min(usable, max_bytes);
  const size_t per_item = size_t(t.padded) * 5 + size_t(host_item_bytes) + 64;
  if (per_item > usable)
    throw std::length_error("one item needs about " + std::to_string(per_item >> 20) +
                            " MiB of GPU memory, " + std::to_string(usable >> 20) + " MiB are free");
  const int64_t chunk = int64_t(usable / per_item);
  const int64_t item_size = in.shape[0] * in.shape[1] * in.shape[2];
  std::vector<int64_t> out;
  for (int64_t first = 0; first < n_items; first += chunk) {
    const int64_t n = std::min(chunk, n_items - first);
    uint64_t nan_at = ~uint64_t(0);
    gpu::Input part = in;
    struct Upload {
      void* p = nullptr;
      ~Upload() { gpu::free_device(p); }
    } up;
    if (host_item_bytes) {
      up.p = gpu::copy_to_device(in.base + size_t(first * host_item_bytes), size_t(n * host_item_bytes));
      part.base = static_cast<const char*>(up.p);
    } else {
      part.item0 = first;
    }
    gpu::run_betti_cuda(part, t, eta + first, n, first == 0 ? stream : 0, out, nan_at);
    if (nan_at != ~uint64_t(0)) gpu::throw_nan(uint64_t(first * item_size) + nan_at, item_size);
  }
  return out;
}

py::array_t<int64_t> betti_result(const std::vector<int64_t>& out, int64_t n_items, int d) {
  py::array_t<int64_t> r({py::ssize_t(n_items), py::ssize_t(d)});
  std::copy(out.begin(), out.end(), r.mutable_data());
  return r;
}

using Thresholds = py::array_t<double, py::array::c_style | py::array::forcecast>;

void check_thresholds(const Thresholds& eta, int64_t n_items) {
  if (eta.ndim() != 1 || eta.shape(0) != n_items)
    throw py::value_error("thresholds: expected shape (" + std::to_string(n_items) + ",), one per item");
}

// A C-contiguous host batch of 2-D or 3-D items, copied to the GPU chunk by chunk.
py::array_t<int64_t> betti(const py::array& x, const Thresholds& eta,
                           const std::string& construction, int batch_dims, size_t max_bytes) {
  const Construction con = check_common(construction, 0);
  const BatchView b = batch_view(x, batch_dims, 4);
  gpu::check_betti(b);  // std::invalid_argument: a ValueError
  if (!(x.flags() & py::array::c_style)) throw py::value_error("x: must be C-contiguous here");
  check_thresholds(eta, b.n_items());
  const int64_t item_bytes = b.item.size() * int64_t(x.itemsize());
  const gpu::Input in = contiguous_input(b.item.base, int(b.item.dtype), b.n_items(), b.item,
                                         int64_t(x.itemsize()));
  const double* t = eta.data();
  std::vector<int64_t> out;
  try {
    out = run_batch(b, [&](const std::atomic<bool>*) {
      return betti_chunks(in, b.n_items(), t, con, 0, max_bytes, item_bytes);
    });
  } catch (const std::length_error& e) {
    PyErr_SetString(PyExc_MemoryError, (std::string("x: ") + e.what() + "; use device='cpu'").c_str());
    throw py::error_already_set();
  }
  return betti_result(out, b.n_items(), b.item.ndim);
}

// A batch in device memory (any dtype, any strides), read in place.
py::array_t<int64_t> betti_device(uintptr_t ptr, const std::vector<int64_t>& shape,
                                  const std::vector<int64_t>& strides, int dtype, uintptr_t stream,
                                  const Thresholds& eta, const std::string& construction,
                                  int batch_dims, size_t max_bytes) {
  const Construction con = check_common(construction, 0);
  gpu::Input in;
  const int64_t n_items = device_input(ptr, shape, strides, dtype, batch_dims, true, in);
  check_thresholds(eta, n_items);
  const double* t = eta.data();
  std::vector<int64_t> out;
  try {
    py::gil_scoped_release release;
    out = betti_chunks(in, n_items, t, con, stream, max_bytes, 0);
  } catch (const ItemError& e) {
    throw_device_nan(e, shape, batch_dims);
  } catch (const std::length_error& e) {
    PyErr_SetString(PyExc_MemoryError, (std::string("x: ") + e.what() + "; use device='cpu'").c_str());
    throw py::error_already_set();
  }
  return betti_result(out, n_items, in.ndim);
}

}  // namespace

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "cuph GPU engine (CUDA): batched 2-D cubical persistence";
  m.def("device_count", &gpu::device_count,
        "CUDA devices usable by this process (0 without a driver or a GPU).");
  m.def("device_name", &gpu::device_name, "The current CUDA device's name.");
  m.def(
      "memory_info",
      []() {
        size_t free = 0, total = 0;
        gpu::device_memory(free, total);
        return std::make_pair(free, total);
      },
      "(free, total) bytes of the current CUDA device.");
  m.def("compute_2d", &compute_2d, py::arg("x"), py::arg("maxdim"), py::arg("construction"),
        py::arg("batch_dims"), py::arg("n_threads"), py::arg("superlevel"), py::arg("max_bytes") = 0,
        "Persistence pairs of every 2-D item of a C-contiguous host array x on the GPU; the "
        "result layout of _core.compute; max_bytes (0: none) bounds the device memory of a "
        "launch (the batch goes in chunks of items).");
  m.def("betti", &betti, py::arg("x"), py::arg("thresholds"), py::arg("construction"),
        py::arg("batch_dims"), py::arg("max_bytes") = 0,
        "(n_items, d) Betti numbers of {x <= eta} per 2-D or 3-D item of a C-contiguous host "
        "array, on the GPU.");
  m.def("betti_device", &betti_device, py::arg("ptr"), py::arg("shape"), py::arg("strides"),
        py::arg("dtype"), py::arg("stream"), py::arg("thresholds"), py::arg("construction"),
        py::arg("batch_dims"), py::arg("max_bytes") = 0,
        "The same for a batch in device memory (any dtype), read in place.");
  m.def("compute_2d_device", &compute_2d_device, py::arg("ptr"), py::arg("shape"),
        py::arg("strides"), py::arg("dtype"), py::arg("stream"), py::arg("maxdim"),
        py::arg("construction"), py::arg("batch_dims"), py::arg("superlevel"),
        py::arg("max_bytes") = 0,
        "The same for a batch in device memory: pointer, shape, byte strides, the core's dtype "
        "number, the producer's stream (0: none).");
}
