// cuph._core.vr_h0: dimension 0 of Vietoris-Rips persistence (minimum spanning forests) of a batch
// of clouds, with the GIL released and Ctrl-C polled like `compute`. Input validation (NaN/inf,
// symmetry, zero diagonal, non-negative distances) happens in Python (cuph/vr.py).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <memory>
#include <string>

#include "common.hpp"
#include "cuph/mst.hpp"

namespace py = pybind11;

namespace {

using namespace cuph_bindings;

cuph::mst::Metric metric_of(const std::string& m) {
  if (m == "euclidean") return cuph::mst::Metric::Euclidean;
  if (m == "manhattan") return cuph::mst::Metric::Manhattan;
  if (m == "chebyshev") return cuph::mst::Metric::Chebyshev;
  if (m == "precomputed") return cuph::mst::Metric::Precomputed;
  throw py::value_error("metric: must be 'euclidean', 'manhattan', 'chebyshev' or 'precomputed', got '" +
                        m + "'");
}

py::dict vr_h0(py::array_t<double, py::array::c_style | py::array::forcecast> x,
               const std::string& metric, double threshold, int n_threads, bool keep_diagonal,
               int64_t memory_limit) {
  if (x.ndim() != 3)
    throw py::value_error("x: expected a (clouds, points, features) or (clouds, n, n) array");
  const cuph::mst::Metric met = metric_of(metric);
  const int64_t b = x.shape(0), n = x.shape(1), d = x.shape(2);
  if (met == cuph::mst::Metric::Precomputed && n != d)
    throw py::value_error("x: a distance matrix must be square");
  if (!(threshold >= 0)) throw py::value_error("threshold: must be >= 0");
  std::vector<cuph::mst::CloudView> clouds(static_cast<size_t>(b));
  const double* base = x.data();
  for (int64_t i = 0; i < b; ++i) clouds[size_t(i)] = {base + i * n * d, n, d, met};
  const int threads = thread_count(n_threads);
  // Clouds of at most 256 points in all (their pairwise distances) run without a handoff.
  const bool here = n <= 256 && b * n * n <= kInlineValues;
  cuph::mst::H0Batch res = run_released([&](const std::atomic<bool>* cancel) {
    return cuph::mst::h0_batch(clouds, threshold, keep_diagonal, threads, cancel,
                               std::max<int64_t>(0, memory_limit));
  }, here);
  cuph::BatchResult out;
  out.dim.assign(res.death.size(), 0);
  out.birth.assign(res.death.size(), 0.0);  // every H0 class is born at distance 0
  out.death.assign(res.death.begin(), res.death.end());
  out.birth_index.assign(res.birth_index.begin(), res.birth_index.end());
  out.death_index.assign(res.death_index.begin(), res.death_index.end());
  out.offsets = std::move(res.offsets);
  return pairs_dict(std::move(out));
}

py::array_t<double> vr_edge_lengths(py::array_t<double, py::array::c_style | py::array::forcecast> x,
                                    py::array_t<int64_t, py::array::c_style | py::array::forcecast> u,
                                    py::array_t<int64_t, py::array::c_style | py::array::forcecast> v,
                                    const std::string& metric) {
  if (x.ndim() != 2) throw py::value_error("x: expected one cloud (points, features) or (n, n)");
  if (u.ndim() != 1 || v.ndim() != 1 || u.shape(0) != v.shape(0))
    throw py::value_error("u, v: expected two 1-D index arrays of the same length");
  const cuph::mst::Metric met = metric_of(metric);
  const int64_t n = x.shape(0), d = x.shape(1), m = u.shape(0);
  if (met == cuph::mst::Metric::Precomputed && n != d)
    throw py::value_error("x: a distance matrix must be square");
  const int64_t* pu = u.data();
  const int64_t* pv = v.data();
  for (int64_t k = 0; k < m; ++k)
    if (pu[k] < 0 || pu[k] >= n || pv[k] < 0 || pv[k] >= n)
      throw py::index_error("u, v: vertex index out of range");
  py::array_t<double> out(m);
  const cuph::mst::CloudView c{x.data(), n, d, met};
  cuph::mst::edge_lengths(c, pu, pv, m, out.mutable_data());
  return out;
}

py::array_t<double> vr_distance_matrix(
    py::array_t<double, py::array::c_style | py::array::forcecast> x, const std::string& metric,
    int n_threads) {
  if (x.ndim() != 2) throw py::value_error("x: expected one cloud (points, features)");
  const cuph::mst::Metric met = metric_of(metric);
  if (met == cuph::mst::Metric::Precomputed)
    throw py::value_error("metric: 'precomputed' is already a distance matrix");
  const cuph::mst::CloudView c{x.data(), x.shape(0), x.shape(1), met};
  const int threads = thread_count(n_threads);
  std::vector<double> D = run_released([&](const std::atomic<bool>* cancel) {
    std::vector<double> out;
    cuph::CancelToken token(cancel);
    std::unique_ptr<cuph::mst::Team> team;
    if (threads > 1 && c.n >= 128) team.reset(new cuph::mst::Team(threads));
    cuph::mst::distance_matrix(c, team.get(), token, out);
    return out;
  }, c.n <= 256);
  return to_numpy(std::move(D)).reshape({c.n, c.n});
}

// The float32 lower bounds of the squared Euclidean distances that vr_h0 filters with, or None
// where the filter does not apply (no AVX2, too few coordinates, norms out of range). For tests.
py::object vr_lower_bounds(py::array_t<double, py::array::c_style | py::array::forcecast> x) {
  if (x.ndim() != 2) throw py::value_error("x: expected one cloud (points, features)");
  const int64_t n = x.shape(0);
  const cuph::mst::EuclidLowerBound bound(x.data(), n, x.shape(1));
  if (!bound.usable()) return py::none();
  std::vector<float> L;
  {
    py::gil_scoped_release release;
    cuph::CancelToken token(nullptr);
    cuph::mst::detail::fill_matrix(n, bound, nullptr, token, L);
  }
  return to_numpy(std::move(L)).reshape({n, n});
}

}  // namespace

void bind_vr(py::module_& m) {
  m.def("vr_h0", &vr_h0, py::arg("x"), py::arg("metric"), py::arg("threshold"),
        py::arg("n_threads"), py::arg("keep_diagonal"), py::arg("memory_limit") = int64_t(1) << 30,
        "Dimension-0 Vietoris-Rips pairs (minimum spanning forest) of every cloud of x; "
        "see docs/INTERNALS.md for the result layout.");
  m.def("vr_edge_lengths", &vr_edge_lengths, py::arg("x"), py::arg("u"), py::arg("v"),
        py::arg("metric"), "Lengths of the edges (u[k], v[k]) of one cloud, with vr_h0's kernels.");
  m.def("vr_distance_matrix", &vr_distance_matrix, py::arg("x"), py::arg("metric"),
        py::arg("n_threads"),
        "The (n, n) float64 distance matrix of one cloud, with vr_h0's kernels, GIL released.");
  m.def("vr_lower_bounds", &vr_lower_bounds, py::arg("x"),
        "The float32 lower bounds of squared Euclidean distances vr_h0 filters with, or None.");
}
