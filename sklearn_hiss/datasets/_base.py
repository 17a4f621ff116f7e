"""Helpers shared by the data set loaders and generators."""

import importlib.util
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

DATA_EXTRA = 'pip install "sklearn-hiss[data]"'


def _package_dir(package, loader):
    """Return the folder of an installed package without importing it.

    Parameters
    ----------
    package : str
        Name of the package that ships the data files.
    loader : str
        Name of the public loader, used in the error message.

    Returns
    -------
    path : pathlib.Path
        The package's folder.

    Raises
    ------
    ImportError
        If the package is not installed; the message names the extra to install.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"{loader}() reads its data from the optional package {package!r}, "
            f"which is not installed. Install the data extra with: {DATA_EXTRA}."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _check_integer(name, value, *, low):
    """Raise a ValueError unless `value` is an integer >= `low`."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise ValueError(
            f"{name} must be an integer >= {low}, got {value!r}. "
            f"Pass an integer of at least {low}."
        )


def _check_real(name, value, *, low, high=np.inf, include_low=True):
    """Raise a ValueError unless `value` is a real number in the given range.

    The upper bound `high` is always excluded; `include_low` says whether `low`
    itself is allowed.
    """
    is_real = isinstance(value, Real) and not isinstance(value, bool)
    above = is_real and (value >= low if include_low else value > low)
    if not (above and value < high):
        bracket = "[" if include_low else "("
        raise ValueError(
            f"{name} must be a real number in {bracket}{low}, {high}), got "
            f"{value!r}. Pass a number in that range."
        )


def _positions(groups, names):
    """Translate a dict of column-name lists into integer column positions."""
    where = {name: position for position, name in enumerate(names)}
    return {
        group: [where[name] for name in members] for group, members in groups.items()
    }


def _make_bunch(
    data,
    target,
    *,
    feature_names,
    target_names,
    feature_groups,
    task_groups,
    descr,
    as_frame,
    return_X_y,
    index=None,
    **extra,
):
    """Package arrays the way scikit-learn's loaders do.

    Parameters
    ----------
    data : ndarray of shape (n_samples, n_features)
        Feature matrix.
    target : ndarray of shape (n_samples, n_targets)
        Label matrix.
    feature_names, target_names : list of str
        Column names of `data` and `target`.
    feature_groups, task_groups : dict of str to list of str
        Column groups by name; turned into integer positions when `as_frame`
        is False.
    descr : str
        Full description of the data set.
    as_frame : bool
        Whether `data` and `target` become DataFrames.
    return_X_y : bool
        Whether to return ``(data, target)`` instead of a Bunch.
    index : pandas.Index, default=None
        Row labels for the DataFrames.
    **extra : dict
        Further per-row arrays stored in the Bunch (as Series when `as_frame`).

    Returns
    -------
    bunch : Bunch or tuple of (data, target)
    """
    if as_frame:
        data = pd.DataFrame(data, columns=feature_names, index=index)
        target = pd.DataFrame(target, columns=target_names, index=index)
        extra = {key: pd.Series(value, index=index) for key, value in extra.items()}
    if return_X_y:
        return data, target

    frame = pd.concat([data, target], axis=1) if as_frame else None
    if not as_frame:
        feature_groups = _positions(feature_groups, feature_names)
        task_groups = _positions(task_groups, target_names)
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=list(feature_names),
        target_names=list(target_names),
        feature_groups={key: list(value) for key, value in feature_groups.items()},
        task_groups={key: list(value) for key, value in task_groups.items()},
        DESCR=descr,
        **extra,
    )
