// cuph._core.graph_compute: sublevel persistence of a function on the vertices of a graph.
// Validation of user input happens in Python (cuph/landscape/graph.py); this layer maps core
// errors to exceptions that name the argument.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <thread>

#include "common.hpp"
#include "cuph/graph_persistence.hpp"

namespace py = pybind11;

namespace {

using namespace cuph_bindings;

py::dict graph_compute(const py::array& values, const py::array& edges, int maxdim, int n_threads,
                       bool superlevel, bool keep_diagonal) {
  if (values.ndim() != 1) throw py::value_error("values: expected a 1-D array");
  if (edges.ndim() != 2 || edges.shape(1) != 2)
    throw py::value_error("edges: expected an (m, 2) array");
  if (maxdim < 0 || maxdim > 1) throw py::value_error("maxdim: must be 0 or 1 for a graph");
  cuph::ItemView v;
  v.base = static_cast<const char*>(values.data());
  v.dtype = core_dtype(values, "values");
  v.ndim = 1;
  v.shape[0] = values.shape(0);
  v.strides[0] = values.strides(0);
  cuph::EdgeView e;
  const cuph::DType et = core_dtype(edges, "edges");
  if (et != cuph::DType::i32 && et != cuph::DType::i64)
    throw py::type_error("edges: expected int32 or int64 (convert with edges.astype(np.int64))");
  e.base = static_cast<const char*>(edges.data());
  e.m = edges.shape(0);
  e.row_stride = edges.strides(0);
  e.col_stride = edges.strides(1);
  e.wide = et == cuph::DType::i64;
  const int threads = thread_count(n_threads);

  std::vector<cuph::ItemPairs> res(1);
  try {
    res[0] = run_released([&](const std::atomic<bool>* flag) {
      cuph::CancelToken cancel(flag);
      return cuph::graph_persistence(v, e, maxdim, superlevel, keep_diagonal, threads, cancel);
    }, v.shape[0] <= kInlineValues && e.m <= kInlineValues);  // small graphs: no handoff
  } catch (const cuph::NanError& err) {
    throw py::value_error("values: contains NaN at vertex " + std::to_string(err.position) +
                          "; NaN is not a filtration value (replace it, e.g. with np.nan_to_num, "
                          "or with +inf to make the vertex enter last)");
  } catch (const cuph::EdgeOutOfRange& err) {
    throw py::value_error("edges: row " + std::to_string(err.row) + " holds vertex " +
                          std::to_string(err.vertex) + ", outside [0, " +
                          std::to_string(v.shape[0]) + ") for " + std::to_string(v.shape[0]) +
                          " values; drop or renumber that edge");
  } catch (const std::length_error& err) {
    throw py::value_error(std::string("values: ") + err.what());
  }
  return pairs_dict(cuph::assemble_pairs(res, maxdim, superlevel, v.dtype, 1,
                                         [&](int64_t) { return v; }));
}

}  // namespace

void bind_graph(py::module_& m) {
  m.def("graph_compute", &graph_compute, py::arg("values"), py::arg("edges"), py::arg("maxdim"),
        py::arg("n_threads"), py::arg("superlevel"), py::arg("keep_diagonal"),
        "Sublevel persistence (dims 0..maxdim <= 1) of vertex values on a graph given as an (m, 2) "
        "edge array; see cuph.landscape.graph_persistence.");
}
