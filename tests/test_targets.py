"""Tests of encode_targets: sub-task labels as compact class codes."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal

from sklearn_hiss._targets import encode_targets


def _decoded(targets, t):
    """Labels of sub-task ``t`` read back from its codes (None where unlabeled)."""
    codes = targets.codes[:, t]
    return [targets.classes[t][c] if c >= 0 else None for c in codes]


@pytest.mark.parametrize(
    "column, classes",
    [
        (np.array([2, 0, 7, 0, -1]), [0, 2, 7]),
        (np.array([True, False, True, False, True]), [False, True]),
        (np.array([1.0, 0.0, np.nan, 3.0, 0.0]), [0, 1, 3]),
        (np.array([1, 0, 3, 0, 1], dtype=np.uint8), [0, 1, 3]),
        (np.array(["b", "a", None, "b", "a"], dtype=object), ["a", "b"]),
    ],
)
def test_labels_of_every_kind_become_int16_codes_that_decode_back(column, classes):
    targets = encode_targets(column)
    labeled = ~pd.isna(column) & (column != -1)

    assert targets.codes.dtype == np.int16
    assert targets.classes[0].tolist() == classes
    assert_array_equal(targets.codes[~labeled, 0], -1)
    decoded = np.array(_decoded(targets, 0), dtype=object)
    assert decoded[labeled].tolist() == column[labeled].tolist()


def test_whole_float_labels_become_int_classes():
    targets = encode_targets(np.array([[0.0, 5.0], [1.0, 5.0], [1.0, 6.0]]))

    assert all(c.dtype.kind == "i" for c in targets.classes)
    assert targets.codes.tolist() == [[0, 0], [1, 0], [1, 1]]


def test_a_column_with_more_classes_than_int16_widens_every_code():
    n = 40_000  # more than int16's 32,767
    rng = np.random.RandomState(0)
    few = rng.randint(0, 3, n)
    few[::5] = -1
    Y = np.column_stack([few, rng.permutation(n)])
    targets = encode_targets(Y)

    assert targets.codes.dtype == np.int64
    assert_array_equal(targets.codes[:, 0], np.where(few >= 0, few, -1))
    assert_array_equal(targets.classes[1][targets.codes[:, 1]], Y[:, 1])


@pytest.mark.parametrize(
    "column, error, message",
    [
        (
            np.array([0.0, 0.5, 1.0, 2.25]),
            ValueError,
            r"continuous values \(array\(\[0\.5",
        ),
        (np.array([0.0, 1e20, 1.0]), ValueError, "For a continuous outcome use a"),
        (np.array([0.0, np.inf, 1.0]), ValueError, "infinity"),
        (pd.DataFrame({"delay": [0.1, 2.0]}), ValueError, "'delay' holds contin"),
        (np.array(["x", 1, 2], dtype=object), TypeError, "mixes strings"),
    ],
)
def test_unusable_labels_are_still_named_errors(column, error, message):
    with pytest.raises(error, match=message):
        encode_targets(column)
