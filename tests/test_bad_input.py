"""Bad input to the public entry points (cuph.persistence, cuph.CubicalComplex,
cuph.estimate_memory): a ValueError, TypeError or MemoryError whose message names the argument
(and, for NaN, the position).  Never a crash, a hang or a silent result.  The checklist these
cases follow is docs/RELIABILITY.md."""

from __future__ import annotations

import array
import re

import numpy as np
import pytest

import cuph


def _nan_at(shape, pos, dtype=np.float64):
    x = np.zeros(shape, dtype=dtype)
    x[pos] = np.nan
    return x


A2 = np.zeros((3, 3))


def _zero_strides(shape, dtype=np.float64):
    """A read-only broadcast view: huge shape, one element of memory."""
    return np.lib.stride_tricks.as_strided(np.zeros(1, dtype), shape, (0,) * len(shape))

# id: (x, kwargs, exception type(s), regexes that must all match the message, case-insensitive)
CASES = {
    # NaN: the message says where
    "nan_2d": (_nan_at((4, 5), (2, 3)), {}, ValueError, [r"\bx\b", r"nan", r"2,\s*3"]),
    "nan_1d": (_nan_at((7,), (4,)), {}, ValueError, [r"nan", r"\b4\b"]),
    "nan_float32": (_nan_at((4, 5), (0, 1), np.float32), {}, ValueError, [r"nan", r"0,\s*1"]),
    "nan_float16": (_nan_at((3, 3, 3), (1, 2, 0), np.float16), {}, ValueError,
                    [r"nan", r"1,\s*2,\s*0"]),
    "nan_transposed_view": (_nan_at((4, 5), (2, 3)).T, {}, ValueError, [r"nan", r"3,\s*2"]),
    "nan_in_batch": (_nan_at((3, 4, 5), (1, 2, 3)), {"batch_dims": 1}, ValueError,
                     [r"nan", r"1,\s*2,\s*3|\b2,\s*3\b"]),
    "nan_4d_T": (_nan_at((2, 2, 2, 2), (1, 0, 1, 1)), {"construction": "T"}, ValueError,
                 [r"nan", r"1,\s*0,\s*1,\s*1"]),
    # empty and 0-d
    "empty_1d": (np.zeros(0), {}, ValueError, [r"\bx\b", r"empty|size|length"]),
    "empty_2d": (np.zeros((3, 0)), {}, ValueError, [r"\bx\b", r"empty|size|length"]),
    "empty_list": ([], {}, ValueError, [r"\bx\b", r"empty|size|length"]),
    "empty_nested_list": ([[]], {}, ValueError, [r"\bx\b", r"empty|size|length"]),
    "zero_d_array": (np.array(3.0), {}, (ValueError, TypeError),
                     [r"\bx\b", r"0-d|scalar|ndim|axes|dimension"]),
    "python_scalar": (3.0, {}, (ValueError, TypeError), [r"\bx\b"]),
    # too many item dimensions
    "ndim5": (np.zeros((2,) * 5), {}, ValueError, [r"\bx\b|ndim|axes", r"batch_dims|4"]),
    "ndim6_batch1": (np.zeros((2,) * 6), {"batch_dims": 1}, ValueError, [r"ndim|axes|dim", r"4"]),
    # dtypes
    "complex": (np.zeros(3, complex), {}, (TypeError, ValueError), [r"\bx\b|dtype", r"complex"]),
    "object": (np.array([1.0, "a", None], dtype=object), {}, (TypeError, ValueError),
               [r"dtype|object"]),
    "object_numbers": (np.zeros(3, dtype=object), {}, (TypeError, ValueError), [r"dtype|object"]),
    "string": (np.array(["a", "b"]), {}, (TypeError, ValueError), [r"dtype|str|<U"]),
    "bytes_array": (np.array([b"a", b"b"]), {}, (TypeError, ValueError), [r"dtype|bytes|S1"]),
    "datetime": (np.zeros(3, "M8[s]"), {}, (TypeError, ValueError), [r"dtype|datetime"]),
    "structured": (np.zeros(3, [("a", float)]), {}, (TypeError, ValueError), [r"dtype"]),
    "python_string": ("abc", {}, TypeError, [r"\bx\b"]),
    "ragged_list": ([[1, 2], [3]], {}, (TypeError, ValueError), [r"\bx\b"]),
    # non-array objects
    "dict": ({"a": 1}, {}, TypeError, [r"\bx\b", r"dict|array"]),
    "none": (None, {}, TypeError, [r"\bx\b", r"none|array"]),
    "object_instance": (object(), {}, (TypeError, ValueError), [r"\bx\b"]),
    # construction
    "construction_unknown": (A2, {"construction": "X"}, ValueError, [r"construction", r"V", r"T"]),
    "construction_none": (A2, {"construction": None}, (ValueError, TypeError), [r"construction"]),
    "construction_long_name": (A2, {"construction": "vertices"}, (ValueError, TypeError),
                               [r"construction"]),
    # maxdim
    "maxdim_negative": (A2, {"maxdim": -1}, ValueError, [r"maxdim"]),
    "maxdim_eq_d": (A2, {"maxdim": 2}, ValueError, [r"maxdim"]),
    "maxdim_gt_d": (np.zeros(5), {"maxdim": 3}, ValueError, [r"maxdim"]),
    "maxdim_float": (A2, {"maxdim": 1.5}, TypeError, [r"maxdim"]),
    "maxdim_str": (A2, {"maxdim": "1"}, TypeError, [r"maxdim"]),
    "maxdim_beyond_item_in_batch": (np.zeros((4, 5, 5)), {"batch_dims": 1, "maxdim": 2},
                                    ValueError, [r"maxdim"]),
    # batch_dims
    "batch_dims_negative": (A2, {"batch_dims": -1}, ValueError, [r"batch_dims"]),
    "batch_dims_all_axes": (A2, {"batch_dims": 2}, ValueError, [r"batch_dims"]),
    "batch_dims_too_big": (A2, {"batch_dims": 5}, ValueError, [r"batch_dims"]),
    "batch_dims_float": (A2, {"batch_dims": 1.0}, TypeError, [r"batch_dims"]),
    "batch_dims_str": (A2, {"batch_dims": "1"}, TypeError, [r"batch_dims"]),
    # device
    "device_unknown": (A2, {"device": "tpu"}, ValueError, [r"device"]),
    "device_none": (A2, {"device": None}, (ValueError, TypeError), [r"device"]),
    # n_threads
    "n_threads_zero": (A2, {"n_threads": 0}, ValueError, [r"n_threads"]),
    "n_threads_negative": (A2, {"n_threads": -2}, ValueError, [r"n_threads"]),
    "n_threads_float": (A2, {"n_threads": 1.5}, TypeError, [r"n_threads"]),
    # flags
    "superlevel_str": (A2, {"superlevel": "yes"}, TypeError, [r"superlevel"]),
    "keep_diagonal_str": (A2, {"keep_diagonal": "no"}, TypeError, [r"keep_diagonal"]),
    # unknown options
    "unknown_option": (A2, {"max_dim": 1}, TypeError, [r"max_dim"]),
    # memory: limits, giant zero-stride views, shapes whose cell count overflows
    "max_memory_zero": (A2, {"max_memory": 0}, ValueError, [r"max_memory", r"positive"]),
    "max_memory_negative": (A2, {"max_memory": -5}, ValueError, [r"max_memory"]),
    "max_memory_bad_unit": (A2, {"max_memory": "4 parsecs"}, ValueError,
                            [r"max_memory", r"4GB|MiB"]),
    "max_memory_float": (A2, {"max_memory": 1.5e9}, TypeError, [r"max_memory", r"float"]),
    "max_memory_bool": (A2, {"max_memory": True}, TypeError, [r"max_memory"]),
    "max_memory_item_too_big": (np.zeros((200, 200)), {"max_memory": 10_000}, MemoryError,
                                [r"one item", r"\(200, 200\)", r"max_memory=", r"KiB"]),
    "zero_strides_200000_cubed": (_zero_strides((200000,) * 3), {}, (MemoryError, ValueError),
                                  [r"200000", r"max_memory|too large|too long"]),
    "zero_strides_batch_of_giants": (_zero_strides((10**6, 10**5, 10**5), np.uint8),
                                     {"batch_dims": 1}, (MemoryError, ValueError),
                                     [r"100000", r"max_memory|too large|too long"]),
    "cell_count_overflow_4d": (_zero_strides((2**15,) * 4, np.uint8), {"max_memory": "1EB"},
                               ValueError, [r"\bx\b", r"overflows 64"]),
    "cell_count_overflow_batch": (_zero_strides((2**40, 2**11, 2**11), np.uint8),
                                  {"batch_dims": 1, "max_memory": "1EB"}, ValueError,
                                  [r"overflows 64"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case):
    x, kwargs, exc, patterns = CASES[case]
    with pytest.raises(exc) as info:
        cuph.persistence(x, **kwargs)
    assert isinstance(info.value, (ValueError, TypeError, MemoryError))
    msg = str(info.value)
    for p in patterns:
        assert re.search(p, msg, re.IGNORECASE), f"{case}: {p!r} not in message {msg!r}"


def _nan_list():
    return [1.0, float("nan"), 2.0, 3.0]


# id: (CubicalComplex keyword arguments, exception type(s), regexes)
CUBICAL_COMPLEX_CASES = {
    "nothing": ({}, ValueError, [r"top_dimensional_cells|vertices"]),
    "both": ({"top_dimensional_cells": A2, "vertices": A2}, ValueError, [r"OR|both"]),
    "nan_top": ({"top_dimensional_cells": _nan_at((3, 4), (1, 2))}, ValueError,
                [r"top_dimensional_cells", r"nan", r"1,\s*2"]),
    "nan_vertices": ({"vertices": _nan_at((2, 2, 2), (0, 1, 1))}, ValueError,
                     [r"vertices", r"nan", r"0,\s*1,\s*1"]),
    "nan_flat_with_dimensions": ({"top_dimensional_cells": _nan_list(), "dimensions": [2, 2]},
                                 ValueError, [r"top_dimensional_cells", r"nan", r"\(1,\)"]),
    "empty": ({"top_dimensional_cells": np.zeros((0, 3))}, ValueError,
              [r"top_dimensional_cells", r"at least one value"]),
    "scalar": ({"vertices": 3.0}, (TypeError, ValueError), [r"vertices"]),
    "ndim5": ({"top_dimensional_cells": np.zeros((2,) * 5)}, ValueError,
              [r"top_dimensional_cells", r"1 to 4 axes"]),
    "complex_dtype": ({"top_dimensional_cells": np.zeros((2, 2), complex)}, TypeError,
                      [r"top_dimensional_cells", r"complex"]),
    "string_dtype": ({"vertices": [["a", "b"]]}, TypeError, [r"vertices", r"dtype"]),
    "object": ({"top_dimensional_cells": object()}, (TypeError, ValueError),
               [r"top_dimensional_cells"]),
    "dict": ({"vertices": {"a": 1}}, TypeError, [r"vertices", r"dict"]),
    "dimensions_mismatch": ({"top_dimensional_cells": [1, 2, 3], "dimensions": [2, 2]},
                            ValueError, [r"dimensions", r"4 values"]),
    "dimensions_negative": ({"top_dimensional_cells": [1, 2], "dimensions": [-1, -2]},
                            ValueError, [r"dimensions", r">= 1"]),
    "dimensions_float": ({"top_dimensional_cells": [1, 2], "dimensions": [2.0]}, TypeError,
                         [r"dimensions"]),
    "dimensions_not_a_sequence": ({"top_dimensional_cells": [1, 2], "dimensions": 2},
                                  TypeError, [r"dimensions"]),
    "dimensions_with_nd_array": ({"top_dimensional_cells": A2, "dimensions": [3, 3]},
                                 TypeError, [r"flat|1-D"]),
    "unknown_option": ({"top_dimensional_cells": A2, "periodic": True}, TypeError,
                       [r"periodic"]),
}


@pytest.mark.parametrize("case", sorted(CUBICAL_COMPLEX_CASES))
def test_cubical_complex_bad_input(case):
    kwargs, exc, patterns = CUBICAL_COMPLEX_CASES[case]
    with pytest.raises(exc) as info:
        cuph.CubicalComplex(**kwargs)
    msg = str(info.value)
    for p in patterns:
        assert re.search(p, msg, re.IGNORECASE), f"{case}: {p!r} not in message {msg!r}"


@pytest.mark.parametrize("args, exc, pattern", [
    ({"homology_coeff_field": 4}, ValueError, r"prime"),
    ({"homology_coeff_field": 2.5}, TypeError, r"homology_coeff_field"),
    ({"homology_coeff_field": "11"}, TypeError, r"homology_coeff_field"),
    ({"min_persistence": float("nan")}, ValueError, r"min_persistence"),
    ({"min_persistence": "0.1"}, TypeError, r"min_persistence"),
])
def test_cubical_complex_persistence_bad_arguments(args, exc, pattern):
    cc = cuph.CubicalComplex(top_dimensional_cells=A2)
    with pytest.raises(exc, match=pattern):
        cc.persistence(**args)


# id: (estimate_memory positional arguments, keyword arguments, exception type(s), regexes)
ESTIMATE_CASES = {
    "shape_str": (("64x64",), {}, TypeError, [r"shape"]),
    "shape_float_axis": (((64, 6.5),), {}, TypeError, [r"shape", r"float"]),
    "shape_negative": (((64, -1),), {}, ValueError, [r"shape", r">= 0"]),
    "shape_empty_axis": (((64, 0),), {}, ValueError, [r"shape", r"empty"]),
    "shape_0d": (((),), {}, ValueError, [r"shape", r"0-d"]),
    "shape_5d": (((2,) * 5,), {}, ValueError, [r"shape", r"batch_dims"]),
    "dtype_complex": (((8, 8), complex), {}, TypeError, [r"dtype", r"complex"]),
    "dtype_object": (((8, 8), object), {}, TypeError, [r"dtype"]),
    "dtype_nonsense": (((8, 8), "bogus"), {}, TypeError, [r"dtype"]),
    "construction": (((8, 8),), {"construction": "X"}, ValueError, [r"construction"]),
    "maxdim": (((8, 8),), {"maxdim": 2}, ValueError, [r"maxdim"]),
    "batch_dims": (((8, 8),), {"batch_dims": 2}, ValueError, [r"batch_dims"]),
    "n_threads": (((8, 8),), {"n_threads": 0}, ValueError, [r"n_threads"]),
    "overflow": (((2**16,) * 4,), {}, ValueError, [r"shape", r"overflows 64"]),
}


@pytest.mark.parametrize("case", sorted(ESTIMATE_CASES))
def test_estimate_memory_bad_input(case):
    args, kwargs, exc, patterns = ESTIMATE_CASES[case]
    with pytest.raises(exc) as info:
        cuph.estimate_memory(*args, **kwargs)
    msg = str(info.value)
    for p in patterns:
        assert re.search(p, msg, re.IGNORECASE), f"{case}: {p!r} not in message {msg!r}"


def test_at_least_30_bad_inputs_per_the_issue():
    assert len(CASES) + len(CUBICAL_COMPLEX_CASES) + len(ESTIMATE_CASES) >= 30
    assert len(CASES) >= 30


# ----------------------------------------------------------------------------- accepted input

GOOD = {
    "nested_list_2d": ([[0, 1, 2], [2, 0, 1]], {}),
    "nested_list_float": ([[0.5, 1.5], [2.5, 0.0]], {"construction": "T"}),
    "list_1d": ([3, 1, 2], {}),
    "list_of_bool": ([[True, False], [False, True]], {}),
    "tuple": ((1.0, 0.0, 2.0), {}),
    "inf_values": (np.array([[0.0, np.inf], [-np.inf, 1.0]]), {}),
    "all_inf": (np.full((3, 3), np.inf), {}),
    "zero_strides_small": (_zero_strides((50, 60)), {}),  # broadcast views are read in place
    "overlapping_strides": (np.lib.stride_tricks.as_strided(np.arange(10.0), (6, 5), (8, 8)), {}),
    "max_memory_string": (np.zeros((4, 5, 5)), {"batch_dims": 1, "max_memory": "2GB"}),
    "max_memory_auto": (np.zeros((4, 5, 5)), {"batch_dims": 1, "max_memory": "auto"}),
    "ndim5_batch1": (np.zeros((2, 2, 2, 2, 2)), {"batch_dims": 1}),
    "ndim6_batch2": (np.zeros((2, 1, 2, 2, 2, 2)), {"batch_dims": 2}),
    "maxdim_zero": (np.zeros((3, 3, 3)), {"maxdim": 0}),
    "numpy_int_args": (np.zeros((2, 3, 3)), {"maxdim": np.int64(1), "batch_dims": np.int32(1),
                                             "n_threads": np.int16(1)}),
    "many_threads": (np.zeros((5, 3, 3)), {"batch_dims": 1, "n_threads": 64}),
    "device_cpu": (np.zeros((3, 3)), {"device": "cpu"}),
    "big_endian": (np.arange(6, dtype=">f8").reshape(2, 3), {}),
    "memoryview": (memoryview(np.arange(6.0).reshape(2, 3)), {}),  # buffer protocol
    "array_module": (array.array("d", [2.0, 0.0, 1.0]), {}),  # buffer protocol
    "array_interface_object": (type("A", (), {"__array__": lambda self, dtype=None, copy=None:
                                              np.arange(4.0)})(), {}),
}


@pytest.mark.parametrize("case", sorted(GOOD))
def test_good_input_accepted(case):
    x, kwargs = GOOD[case]
    dg = cuph.persistence(x, **kwargs)
    ref = np.asarray(x if not hasattr(x, "__array__") else np.asarray(x))
    bd = kwargs.get("batch_dims", 0)
    assert tuple(dg.item_shape) == ref.shape[int(bd):]
    # a box has one essential class per item
    n_items = int(np.prod(ref.shape[: int(bd)]))
    assert int((np.asarray(dg.death_index) == -1).sum()) == n_items


def test_list_equals_array():
    lst = [[0, 3, 1], [2, 5, 0], [1, 1, 4]]
    a = cuph.persistence(lst)
    b = cuph.persistence(np.array(lst))
    for name in ("dim", "birth", "death", "birth_index", "death_index"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_error_does_not_poison_later_calls():
    with pytest.raises(ValueError):
        cuph.persistence(_nan_at((30, 30), (29, 29)))
    dg = cuph.persistence(np.zeros((30, 30)))
    assert int((np.asarray(dg.death_index) == -1).sum()) == 1


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
@pytest.mark.parametrize("superlevel", [False, True])
def test_first_nan_of_an_image_read_on_several_threads(dtype, superlevel):
    # A large 2-D image is read into the pixel sweep's values in row ranges on threads: of two
    # NaNs in different ranges, the message names the first in C order, as on one thread.
    x = np.zeros((300, 200), dtype=dtype)
    x[250, 7] = np.nan
    x[40, 150] = np.nan
    for threads in (1, 2, 3):
        with pytest.raises(ValueError, match=r"(?i)nan.*40,\s*150"):
            cuph.persistence(x, n_threads=threads, superlevel=superlevel)
    with pytest.raises(ValueError, match=r"(?i)nan.*\b7,\s*250"):
        cuph.persistence(x.T, n_threads=2, superlevel=superlevel)  # a strided view


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_first_nan_of_a_volume_read_on_several_threads(dtype):
    # A 3-D item split over threads loads slabs of its first axis on them (load_item_keys).
    x = np.zeros((40, 30, 20), dtype=dtype)
    x[33, 1, 2] = np.nan
    x[5, 29, 19] = np.nan
    for threads in (1, 2, 3):
        for maxdim in (0, 2):
            with pytest.raises(ValueError, match=r"(?i)nan.*\b5,\s*29,\s*19"):
                cuph.persistence(x, maxdim=maxdim, n_threads=threads)
    with pytest.raises(ValueError, match=r"(?i)nan.*\b2,\s*1,\s*33"):
        cuph.persistence(x.transpose(2, 1, 0), n_threads=2)
    x[5, 29, 19] = 0  # the one left is in a later slab: its position counts the slabs before
    for threads in (2, 3):
        with pytest.raises(ValueError, match=r"(?i)nan.*\b33,\s*1,\s*2"):
            cuph.persistence(x, n_threads=threads)
