"""Targets of training in chunks: classes fixed once, every chunk coded against them.

The first ``partial_fit`` call fixes the classes of every sub-task (given up
front, or those of its chunk); later chunks may lack some classes, or every
label of a sub-task, but may not bring new ones.
"""

import numpy as np

from ._targets import (
    EncodedTargets,
    _columns,
    _labeled_array,
    complete_binary_classes,
    unlabeled_mask,
)

__all__ = ["encode_chunk"]


def encode_chunk(Y, unlabeled, classes=None, fixed=None):
    """Code one chunk of Y against the classes of each sub-task.

    Parameters
    ----------
    Y : array-like of shape (n_samples,) or (n_samples, n_subtasks)
    unlabeled : int, str or None
        Label value of an unlabeled entry, besides NaN, None and pandas NA.
    classes : array-like, list of array-like or None, default=None
        Classes the caller gave: one array for 1-D Y, one per column otherwise.
    fixed : list of ndarray or None, default=None
        Classes fixed by an earlier chunk; None for the first chunk.

    Returns
    -------
    EncodedTargets
        Codes of the chunk (-1 where unlabeled) and the classes of every
        sub-task, completed to both of 0/1 (or False/True) for indicators.
    """
    names, columns, is_1d = _columns(Y)
    given = None if classes is None else _given_classes(classes, names, is_1d)
    if fixed is None:
        fixed = given or [
            _seen_classes(values, name, unlabeled)
            for name, values in zip(names, columns)
        ]
    elif given is not None:
        _check_same_classes(given, fixed, names)
    if len(fixed) != len(columns):
        raise ValueError(
            f"y has {len(columns)} column(s), but the first partial_fit call had "
            f"{len(fixed)}; give one column per sub-task in every call."
        )
    codes = np.column_stack(
        [
            _codes(values, known, name, unlabeled)
            for name, values, known in zip(names, columns, fixed)
        ]
    )
    return EncodedTargets(codes, fixed, names, is_1d)


def _given_classes(classes, names, is_1d):
    per_task = [classes] if is_1d else list(classes)
    if len(per_task) != len(names):
        raise ValueError(
            f"classes must hold one array of labels per column of y ({len(names)}); "
            f"got {len(per_task)}. For a 1-D y give a single array."
        )
    result = []
    for name, labels in zip(names, per_task):
        known = complete_binary_classes(np.unique(np.asarray(labels)))
        _check_two_classes(known, name, "classes")
        result.append(known)
    return result


def _seen_classes(values, name, unlabeled):
    missing = unlabeled_mask(values, unlabeled)
    seen = np.unique(_labeled_array(values[~missing], name)) if (~missing).any() else []
    known = complete_binary_classes(np.asarray(seen))
    _check_two_classes(known, name, "the first chunk")
    return known


def _check_two_classes(known, name, source):
    if len(known) < 2:
        raise ValueError(
            f"Y column {name!r} has {len(known)} class(es) in {source} "
            f"({np.asarray(known).tolist()}), and partial_fit cannot add classes "
            "later; give every class of every sub-task up front, e.g. "
            "partial_fit(X, y, classes=[[0, 1], ['a', 'b', 'c']])."
        )


def _check_same_classes(given, fixed, names):
    for name, new, old in zip(names, given, fixed):
        if len(new) != len(old) or not np.all(new == old):
            raise ValueError(
                f"classes for Y column {name!r} are {new.tolist()}, but the first "
                f"partial_fit call fixed {old.tolist()}; call fit to start again "
                "with other classes."
            )


def _codes(values, known, name, unlabeled):
    codes = np.full(len(values), -1, dtype=np.int64)
    labeled = ~unlabeled_mask(values, unlabeled)
    if not labeled.any():
        return codes
    labels = _labeled_array(values[labeled], name)
    try:
        position = np.minimum(np.searchsorted(known, labels), len(known) - 1)
        found = np.asarray(known[position] == labels, dtype=bool)
    except TypeError:
        found = np.zeros(len(labels), dtype=bool)
    if not found.all():
        raise ValueError(
            f"Y column {name!r} holds labels {np.unique(labels[~found])[:5].tolist()} "
            f"that are not among its classes {known.tolist()}, fixed by the first "
            "partial_fit call; give every class up front with classes=, or call "
            "fit to start again."
        )
    codes[labeled] = position
    return codes
