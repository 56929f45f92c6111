// Helpers shared by the binding files: numpy dtype -> core dtype, vectors handed to numpy
// without a copy, and running a core call with the GIL released while the calling thread polls
// for signals (Ctrl-C cancels the workers within a fraction of a second).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <chrono>
#include <future>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#if defined(__linux__)
#include <sched.h>
#endif
#include <utility>
#include <vector>

#include "cuph/array_view.hpp"
#include "cuph/batch.hpp"
#include "cuph/check.hpp"
#include "cuph/grid.hpp"
#include "cuph/thread_pool.hpp"

namespace cuph_bindings {

namespace py = pybind11;

// `name` is the Python argument the array came from (error messages name it).
inline cuph::DType core_dtype(const py::array& x, const char* name) {
  using cuph::DType;
  const py::dtype dt = x.dtype();
  const char kind = dt.kind();
  const auto size = dt.itemsize();
  if (!dt.attr("isnative").cast<bool>())
    throw py::type_error(std::string(name) + ": non-native byte order; convert with " + name +
                         ".astype(" + name + ".dtype.newbyteorder('='))");
  if (kind == 'b') return DType::b8;
  if (kind == 'f' && size == 2) return DType::f16;
  if (kind == 'f' && size == 4) return DType::f32;
  if (kind == 'f' && size == 8) return DType::f64;
  static const DType ints[] = {DType::i8, DType::i16, DType::i32, DType::i64};
  static const DType uints[] = {DType::u8, DType::u16, DType::u32, DType::u64};
  const int log2 = size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : size == 8 ? 3 : -1;
  if (kind == 'i' && log2 >= 0) return ints[log2];
  if (kind == 'u' && log2 >= 0) return uints[log2];
  throw py::type_error(std::string(name) + ": unsupported dtype " + std::string(py::str(dt)) +
                       "; use a real floating, integer or bool array");
}

template <class T, class A> py::array_t<T> to_numpy(std::vector<T, A>&& v) {
  auto* owner = new std::vector<T, A>(std::move(v));
  py::capsule free_when_done(owner, [](void* p) { delete static_cast<std::vector<T, A>*>(p); });
  return py::array_t<T>({py::ssize_t(owner->size())}, {py::ssize_t(sizeof(T))}, owner->data(),
                        free_when_done);
}

// Runs fn(const std::atomic<bool>* cancel) on a worker thread with the GIL released. On Ctrl-C
// (or any pending Python signal exception) the flag is raised, the worker's result or error is
// discarded and the Python exception propagates. Other errors of fn propagate unchanged.
// The worker is a parked thread of cuph::ThreadPool, so its thread_local scratch stays warm
// from call to call.
// With `here`, fn runs on the calling thread instead (GIL released; Ctrl-C waits for it): for
// calls too small to be worth the handoff.
template <class F> auto run_released(F&& fn, bool here = false) -> decltype(fn(nullptr)) {
  using R = decltype(fn(nullptr));
  std::atomic<bool> cancel{false};
  if (here) {
    py::gil_scoped_release release;
    return fn(&cancel);
  }
  bool interrupted = false;
  // An item's error comes back by value, not through the future's std::exception_ptr (see
  // cuph::Failure).
  bool item_failed = false;
  cuph::ItemError item_error{-1, cuph::Failure()};
  auto task = std::make_shared<std::packaged_task<R()>>([&]() -> R {
    try {
      return fn(&cancel);
    } catch (const cuph::ItemError& e) {
      item_error = e;
      item_failed = true;
    }
    return R();
  });
  std::future<R> job = task->get_future();
  {
    py::gil_scoped_release release;
    cuph::ThreadPool& pool = cuph::ThreadPool::instance();
    cuph::ThreadPool::Worker* worker = pool.acquire();
    worker->start([task] { (*task)(); });  // packaged_task keeps fn's exception for get()
    while (!worker->wait_for(std::chrono::milliseconds(50))) {
      py::gil_scoped_acquire acquire;
      if (PyErr_CheckSignals() != 0) {
        interrupted = true;
        cancel = true;
        break;
      }
    }
    worker->wait();
    pool.release(worker);
  }
  if (interrupted) throw py::error_already_set();
  if (item_failed) throw item_error;
  return job.get();
}

// The result dict every entry point returns (layout in docs/INTERNALS.md), arrays not copied.
inline py::dict pairs_dict(cuph::BatchResult&& r) {
  py::dict out;
  out["dim"] = to_numpy(std::move(r.dim));
  if (r.single) {
    out["birth"] = to_numpy(std::move(r.birth32));
    out["death"] = to_numpy(std::move(r.death32));
  } else {
    out["birth"] = to_numpy(std::move(r.birth));
    out["death"] = to_numpy(std::move(r.death));
  }
  out["birth_index"] = to_numpy(std::move(r.birth_index));
  out["death_index"] = to_numpy(std::move(r.death_index));
  out["item"] = py::none();  // cuph.Diagrams builds it from the offsets when it is read
  out["offsets"] = to_numpy(std::move(r.offsets));
  return out;
}

// "V" or "T" (ValueError otherwise).
inline cuph::Construction construction_arg(const std::string& construction) {
  if (construction != "V" && construction != "T")
    throw py::value_error("construction: must be 'V' or 'T'");
  return construction == "V" ? cuph::Construction::V : cuph::Construction::T;
}

// Thresholds of betti_at-style calls: one per item, none NaN.
using Thresholds = py::array_t<double, py::array::c_style | py::array::forcecast>;
inline const double* thresholds_arg(const Thresholds& thresholds, int64_t n_items) {
  if (thresholds.ndim() != 1 || thresholds.shape(0) != n_items)
    throw py::value_error("thresholds: expected shape (" + std::to_string(n_items) +
                          ",), one per item");
  const double* eta = thresholds.data();
  for (int64_t i = 0; i < n_items; ++i)
    if (cuph::is_nan(eta[i])) throw py::value_error("thresholds: NaN at item " + std::to_string(i));
  return eta;
}

// (n_items, d) Betti numbers, row-major in `counts`, as an array.
inline py::array_t<int64_t> betti_array(const std::vector<int64_t>& counts, int64_t n_items, int d) {
  py::array_t<int64_t> out({py::ssize_t(n_items), py::ssize_t(d)});
  std::copy(counts.begin(), counts.end(), out.mutable_data());
  return out;
}

// n_threads <= 0: the CPUs this process may run on (its affinity mask, as cuph._threads), else
// the machine's.
inline int thread_count(int n_threads) {
  if (n_threads > 0) return n_threads;
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
#endif
  return int(std::max(1u, std::thread::hardware_concurrency()));
}

// `batch_dims` batch axes, then 1..max_item_dims item axes of x, read through x's strides.
inline cuph::BatchView batch_view(const py::array& x, int batch_dims, int max_item_dims) {
  const int nd = int(x.ndim());
  if (batch_dims < 0 || batch_dims > 8 || nd - batch_dims < 1 || nd - batch_dims > max_item_dims)
    throw py::value_error("batch_dims: the array needs 1 to " + std::to_string(max_item_dims) +
                          " item axes after at most 8 batch axes");
  cuph::BatchView b;
  b.nbatch = batch_dims;
  b.item.base = static_cast<const char*>(x.data());
  b.item.dtype = core_dtype(x, "x");
  b.item.ndim = nd - batch_dims;
  int64_t n_items = 1;
  for (int i = 0; i < batch_dims; ++i) {
    b.bshape[i] = x.shape(i);
    b.bstrides[i] = x.strides(i);
    n_items = cuph::checked_mul(n_items, b.bshape[i], "x: the number of items");  // ValueError
  }
  for (int i = 0; i < b.item.ndim; ++i) {
    b.item.shape[i] = x.shape(batch_dims + i);
    b.item.strides[i] = x.strides(batch_dims + i);
    if (b.item.shape[i] < 1) throw py::value_error("x: empty array (an item axis has length 0)");
  }
  return b;
}

// "(batch..., item...)": the full index in x of flat position `flat` of flat item `item`.
inline std::string batch_position(const cuph::BatchView& b, int64_t item, int64_t flat) {
  std::vector<int64_t> pos(size_t(b.nbatch + b.item.ndim));
  for (int i = b.item.ndim - 1; i >= 0; --i) {
    pos[size_t(b.nbatch + i)] = flat % b.item.shape[i];
    flat /= b.item.shape[i];
  }
  for (int i = b.nbatch - 1; i >= 0; --i) {
    pos[size_t(i)] = item % b.bshape[i];
    item /= b.bshape[i];
  }
  std::ostringstream s;
  s << "(";
  for (size_t i = 0; i < pos.size(); ++i) s << (i ? ", " : "") << pos[i];
  s << (pos.size() == 1 ? ",)" : ")");
  return s.str();
}

// Batches of at most this many values in all run on the calling thread (run_released's
// `here`): handing a call to a parked thread and back cost about 45 us on the project's VM,
// half the time of one 56x56 map's call (88 -> 42 us), and such calls take a few ms at most.
constexpr int64_t kInlineValues = int64_t(1) << 16;
inline bool run_here(const cuph::BatchView& b) {
  const int64_t size = std::max<int64_t>(b.item.size(), 1);
  return size <= kInlineValues && b.n_items() <= kInlineValues / size;
}

// run_released for a batch job: the error of the failing item becomes a Python exception that
// names x and the item's position.
template <class F> auto run_batch(const cuph::BatchView& b, F&& fn) -> decltype(fn(nullptr)) {
  std::string message;
  try {
    return run_released(std::forward<F>(fn), run_here(b));
  } catch (const cuph::ItemError& e) {
    if (e.error.is_nan()) {
      message = "x: contains NaN at index " + batch_position(b, e.item, e.error.nan_position()) +
                "; NaN is not a filtration value (replace it, e.g. with np.nan_to_num or +inf "
                "to leave the cell out)";
    } else {
      try {
        e.error.raise();
      } catch (const std::length_error& err) {
        message = std::string("x: ") + err.what();
      }
    }
  }
  throw py::value_error(message);
}

}  // namespace cuph_bindings
