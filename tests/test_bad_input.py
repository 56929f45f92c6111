"""Bad input to cuph.persistence: a ValueError or TypeError whose message names the
argument (and, for NaN, the position).  Never a crash, a hang or a silent result."""

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
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case):
    x, kwargs, exc, patterns = CASES[case]
    with pytest.raises(exc) as info:
        cuph.persistence(x, **kwargs)
    assert isinstance(info.value, (ValueError, TypeError))
    msg = str(info.value)
    for p in patterns:
        assert re.search(p, msg, re.IGNORECASE), f"{case}: {p!r} not in message {msg!r}"


# ----------------------------------------------------------------------------- accepted input

GOOD = {
    "nested_list_2d": ([[0, 1, 2], [2, 0, 1]], {}),
    "nested_list_float": ([[0.5, 1.5], [2.5, 0.0]], {"construction": "T"}),
    "list_1d": ([3, 1, 2], {}),
    "list_of_bool": ([[True, False], [False, True]], {}),
    "tuple": ((1.0, 0.0, 2.0), {}),
    "inf_values": (np.array([[0.0, np.inf], [-np.inf, 1.0]]), {}),
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
