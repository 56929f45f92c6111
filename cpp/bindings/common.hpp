// Helpers shared by the binding files: numpy dtype -> core dtype, vectors handed to numpy
// without a copy, and running a core call with the GIL released while the calling thread polls
// for signals (Ctrl-C cancels the workers within a fraction of a second).
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cuph/array_view.hpp"

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

template <class T> py::array_t<T> to_numpy(std::vector<T>&& v) {
  auto* owner = new std::vector<T>(std::move(v));
  py::capsule free_when_done(owner, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>({py::ssize_t(owner->size())}, {py::ssize_t(sizeof(T))}, owner->data(),
                        free_when_done);
}

// Runs fn(const std::atomic<bool>* cancel) on a worker thread with the GIL released. On Ctrl-C
// (or any pending Python signal exception) the flag is raised, the worker's result or error is
// discarded and the Python exception propagates. Other errors of fn propagate unchanged.
template <class F> auto run_released(F&& fn) -> decltype(fn(nullptr)) {
  std::atomic<bool> cancel{false};
  bool interrupted = false;
  std::future<decltype(fn(nullptr))> job;
  {
    py::gil_scoped_release release;
    job = std::async(std::launch::async, [&] { return fn(&cancel); });
    while (job.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready) {
      py::gil_scoped_acquire acquire;
      if (PyErr_CheckSignals() != 0) {
        interrupted = true;
        cancel = true;
        break;
      }
    }
    job.wait();
  }
  if (interrupted) throw py::error_already_set();
  return job.get();
}

}  // namespace cuph_bindings
