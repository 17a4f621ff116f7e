"""Reading what estimators receive: numeric features, and multi-output targets.

A target holds labels per sub-task, with unlabeled entries.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.utils.multiclass import type_of_target

__all__ = [
    "EncodedTargets",
    "check_numeric_features",
    "complete_binary_classes",
    "completed_classes",
    "encode_targets",
    "stack_predictions",
]


def check_numeric_features(X, estimator_name):
    """Raise a ValueError pointing to the fix when X is not a numeric table.

    DataFrame columns must have unique names and numeric or bool dtypes
    (categorical, string, object and datetime columns are refused; numbers
    stored with dtype object are pointed to ``astype(float)``); arrays must not
    hold strings other than numbers. Object arrays are left to scikit-learn's
    own checks.
    """
    if hasattr(X, "dtypes") and hasattr(X, "columns"):
        _check_unique_feature_names(list(X.columns), estimator_name)
        bad = [column for column, dtype in X.dtypes.items() if _not_numeric(dtype)]
        _check_numbers_as_objects(X, bad, estimator_name)
    elif np.asarray(X).dtype.kind in "US" and not _all_numbers(np.asarray(X)):
        bad = ["(an array of strings)"]
    else:
        return
    if bad:
        raise ValueError(
            f"{estimator_name} needs numeric features, but columns {bad[:10]} are "
            "not numeric (categorical, string, object or datetime). Encode them "
            "first, e.g. with a ColumnTransformer holding a OneHotEncoder, in a "
            f"Pipeline before {estimator_name}."
        )


def _check_numbers_as_objects(X, bad, estimator_name):
    stored = [column for column in bad if _numbers_as_objects(X[column])]
    if stored:
        raise ValueError(
            f"{estimator_name} needs numeric features, but columns {stored[:10]} "
            "hold numbers stored with dtype object. Convert them first, e.g. "
            f"X = X.astype({{{stored[0]!r}: float}}), or X = X.infer_objects() "
            "for every such column."
        )


def _not_numeric(dtype):
    if isinstance(dtype, pd.CategoricalDtype):
        return True
    return not (
        pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
    )


def _numbers_as_objects(column):
    """Whether an object column holds only numbers (ints, floats, bools)."""
    if column.dtype != object:
        return False
    values = column.dropna().to_numpy()
    return len(values) > 0 and all(
        isinstance(v, int | float | np.number | np.bool_) for v in values
    )


def _check_unique_feature_names(names, estimator_name):
    duplicated = _duplicates(names)
    if duplicated:
        raise ValueError(
            f"X has duplicated column names {duplicated[:10]}; {estimator_name} "
            "needs one name per column. Rename them first, e.g. with "
            "X.columns = [...], or drop the repeated columns."
        )


def _duplicates(names):
    index = pd.Index(names)
    return [str(n) for n in index[index.duplicated()].unique()]


def _all_numbers(array):
    try:
        array.astype(np.float64)
    except (TypeError, ValueError):
        return False
    return True


@dataclass
class EncodedTargets:
    """Sub-task labels as class codes, with ``-1`` where an entry is unlabeled.

    Attributes
    ----------
    codes : ndarray of shape (n_samples, n_subtasks), int16 or int64
        int16 unless a sub-task has more classes than int16 holds.
    classes : list of ndarray
        The sorted classes of each sub-task, as seen in its labeled entries.
    names : list
        Column names of Y, or positions when Y has none.
    is_1d : bool
        Whether the target was a single 1-D column.
    sentinel_seen : list of bool
        Per sub-task, whether some entry equalled the ``unlabeled`` marker
        (rather than being NaN, None or pandas NA). Empty when not recorded.
    """

    codes: np.ndarray
    classes: list
    names: list
    is_1d: bool
    sentinel_seen: list = field(default_factory=list)


def _columns(Y):
    """Split Y into (names, list of 1-D object arrays, is_1d)."""
    if isinstance(Y, pd.DataFrame):
        names = list(Y.columns)
        _check_column_names(names)
        return names, [Y.iloc[:, j].to_numpy() for j in range(len(names))], False
    if isinstance(Y, pd.Series):
        return [Y.name if Y.name is not None else 0], [Y.to_numpy()], True
    Y = np.asarray(Y)
    if Y.dtype.kind not in "biufUSO":
        Y = Y.astype(object)
    if Y.ndim == 1:
        return [0], [Y], True
    if Y.ndim != 2:
        raise ValueError(
            f"y must be 1-D (one task) or 2-D (one column per sub-task); got an "
            f"array with {Y.ndim} dimensions."
        )
    if Y.shape[1] == 0:
        _check_column_names([])
    return list(range(Y.shape[1])), list(Y.T), False


def _check_column_names(names):
    if not names:
        raise ValueError(
            "y has no columns; give at least one column of labels (one per sub-task)."
        )
    duplicated = _duplicates(names)
    if duplicated:
        raise ValueError(
            f"y has duplicated column names {duplicated}; give every sub-task its "
            "own column name, e.g. with Y.columns = [...]."
        )


def unlabeled_mask(values, unlabeled):
    """Entries that are NaN, None, pandas NA or equal to the ``unlabeled`` sentinel."""
    missing = np.asarray(pd.isna(values), dtype=bool)
    if unlabeled is None or pd.isna(unlabeled):
        return missing
    if values.dtype.kind in "iuf" and not isinstance(unlabeled, str | bool):
        return missing | (values == unlabeled)
    if values.dtype.kind in "US" and isinstance(unlabeled, str):
        return missing | (values == unlabeled)
    if values.dtype.kind == "O":
        is_sentinel = [
            (not m) and _same_label(v, unlabeled) for v, m in zip(values, missing)
        ]
        return missing | np.array(is_sentinel, dtype=bool)
    return missing


def _same_label(value, sentinel):
    if isinstance(value, str) != isinstance(sentinel, str):
        return False
    if isinstance(value, bool | np.bool_) != isinstance(sentinel, bool):
        return False
    return bool(value == sentinel)


def _labeled_array(values, name):
    if values.dtype.kind == "O" and len({isinstance(v, str) for v in values}) > 1:
        raise TypeError(
            f"Y column {name!r} mixes strings with other labels ({values[:5]!r}); "
            "use one label type per sub-task."
        )
    array = np.asarray(list(values)) if values.dtype.kind == "O" else values
    # Bools, ints and whole floats are class labels: type_of_target, which
    # copies and sorts the column, is needed only to name what else it holds.
    if array.dtype.kind in "biu":
        return array
    if array.dtype.kind == "f" and _all_whole(array):
        return array.astype(np.int64)
    kind = type_of_target(array)
    if kind not in ("binary", "multiclass"):
        raise ValueError(
            f"Y column {name!r} holds {kind} values ({_offending(array, kind)!r}); "
            "HiSSClassifier needs class labels (int, bool or str). For a "
            "continuous outcome use a regressor, or bin it into classes first."
        )
    return array


def _offending(array, kind):
    """A few values that make a column unusable: the non-integral ones if any."""
    if kind == "continuous":
        values = array.astype(np.float64)
        return np.unique(values[values != np.round(values)])[:5]
    return array[:5]


def _all_whole(array):
    """Whether every float of `array` is a whole number that int64 holds."""
    with np.errstate(invalid="ignore"):  # NaN, inf and huge values cast badly
        return bool((array.astype(np.int64) == array).all())


def encode_targets(Y, unlabeled=-1):
    """Encode each column of Y into class codes, masking unlabeled entries.

    Raises a ValueError naming the column when a sub-task has no label at all or
    holds continuous values. Warns when a column's labeled entries hold one
    class while others equal the ``unlabeled`` marker: labels coded +1/-1 with
    the default ``unlabeled=-1`` lose their whole negative class that way.
    """
    names, columns, is_1d = _columns(Y)
    n = len(columns[0])
    # int16 codes take a quarter of int64's memory on large Y; a column with
    # more classes than int16 holds widens them to int64.
    codes = np.full((n, len(columns)), -1, dtype=np.int16)
    classes, sentinel_seen = [], []
    for t, (name, values) in enumerate(zip(names, columns)):
        missing = unlabeled_mask(values, unlabeled)
        if missing.all():
            raise ValueError(
                f"Y column {name!r} has no labeled entry (all are missing or equal "
                f"to unlabeled={unlabeled!r}); drop it or label some rows."
            )
        labels = _labeled_array(values[~missing], name)
        task_classes, task_codes = np.unique(labels, return_inverse=True)
        if len(task_classes) > np.iinfo(codes.dtype).max:
            codes = codes.astype(np.int64)
        codes[~missing, t] = task_codes
        classes.append(task_classes)
        sentinel_seen.append(bool((missing & ~_is_na(values)).any()))
        if sentinel_seen[-1] and len(task_classes) == 1:
            _warn_lone_class_beside_sentinel(name, task_classes[0], unlabeled)
    return EncodedTargets(codes, classes, names, is_1d, sentinel_seen)


def _is_na(values):
    return np.asarray(pd.isna(values), dtype=bool)


def _warn_lone_class_beside_sentinel(name, label, unlabeled):
    warnings.warn(
        f"Y column {name!r}: every labeled entry is {_plain(label)!r}, and all "
        f"entries equal to unlabeled={unlabeled!r} were treated as unlabeled. If "
        f"{unlabeled!r} is a class of yours (labels coded +1/-1, for example), "
        "pass unlabeled=None (or another marker) to the classifier and to the "
        "scorers.",
        UserWarning,
        stacklevel=4,
    )


def _plain(label):
    return label.item() if isinstance(label, np.generic) else label


def complete_binary_classes(classes, sentinel_seen=False):
    """Classes of a sub-task, with a lone 0/1 (or bool) label completed to both.

    A 0/1 indicator whose training rows hold only one of the two values is still
    a binary question; keeping both classes keeps ``predict_proba`` at two
    columns in every cross-validation fold. Other lone labels stay alone: the
    missing class cannot be guessed. Neither can it when the column also held
    the ``unlabeled`` marker (``sentinel_seen``) and its lone label is 1 (or
    True): the marker may have been the other class, as in labels coded +1/-1.
    """
    if len(classes) != 1:
        return classes
    if sentinel_seen and classes[0] == 1:
        return classes
    if classes.dtype.kind == "b":
        return np.array([False, True])
    if classes.dtype.kind in "iu" and classes[0] in (0, 1):
        return np.array([0, 1], dtype=classes.dtype)
    return classes


def completed_classes(targets):
    """The classes of every sub-task of ``targets``, lone 0/1 labels completed."""
    seen = targets.sentinel_seen or [False] * len(targets.classes)
    return [complete_binary_classes(c, s) for c, s in zip(targets.classes, seen)]


def stack_predictions(classes, codes):
    """Turn (n, T) class codes back into labels, keeping one dtype when possible."""
    columns = [c[k] for c, k in zip(classes, codes.T)]
    dtypes = {c.dtype for c in classes}
    if len(dtypes) == 1:
        return np.column_stack(columns)
    return np.column_stack([col.astype(object) for col in columns])
