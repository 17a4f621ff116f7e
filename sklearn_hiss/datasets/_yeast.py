"""Yeast gene functions, read from the data file shipped with river."""

import functools

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from ._base import _make_bunch, _package_dir

FEATURE_NAMES = [f"Att{i}" for i in range(1, 104)]
LABEL_NAMES = [f"Class{i}" for i in range(1, 15)]
# The features' correlation structure splits between Att79 and Att80.
FEATURE_GROUPS = {"att_1_79": FEATURE_NAMES[:79], "att_80_103": FEATURE_NAMES[79:]}
N_MAIN_TASKS = 3


def load_yeast(*, as_frame=True, return_X_y=False):
    """Load the yeast gene-function multi-label data set.

    2,417 yeast genes described by 103 numeric features, each annotated with
    any of 14 functional classes. The file has no grouping of the classes, so
    the 14 labels are grouped into 3 main tasks by average-linkage
    hierarchical clustering of their pairwise correlation, with
    ``1 - correlation`` as the distance. The main tasks are named
    ``labels_a``, ``labels_b`` and ``labels_c`` in the order of their first
    member.

    The data come from the file ``datasets/yeast.csv.gz`` of the optional
    ``river`` package, read without importing river.

    Parameters
    ----------
    as_frame : bool, default=True
        If True, `data` and `target` are DataFrames and `frame` joins them. If
        False, they are NumPy arrays, `frame` is None, and `feature_groups` and
        `task_groups` hold integer column positions instead of column names.
    return_X_y : bool, default=False
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    bunch : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        data : {DataFrame, ndarray} of shape (2417, 103)
            Features ``Att1`` ... ``Att103``.
        target : {DataFrame, ndarray} of shape (2417, 14)
            Binary labels ``Class1`` ... ``Class14`` (0 or 1).
        frame : DataFrame of shape (2417, 117) or None
            `data` and `target` side by side; None when `as_frame` is False.
        feature_names : list of str
            Names of the feature columns.
        target_names : list of str
            Names of the label columns.
        feature_groups : dict of str to list
            ``"att_1_79"`` and ``"att_80_103"`` (names, or positions when
            `as_frame` is False).
        task_groups : dict of str to list
            The 3 main tasks found by clustering the labels (names, or
            positions when `as_frame` is False).
        DESCR : str
            Description of the data set.

    (data, target) : tuple
        Returned instead of the Bunch when `return_X_y` is True.

    Raises
    ------
    ImportError
        If the ``river`` package is not installed.

    See Also
    --------
    load_flight_disruptions : Real data with a given task hierarchy.

    Examples
    --------
    >>> from sklearn_hiss.datasets import load_yeast
    >>> yeast = load_yeast()
    >>> yeast.data.shape, yeast.target.shape
    ((2417, 103), (2417, 14))
    >>> sorted(yeast.task_groups)
    ['labels_a', 'labels_b', 'labels_c']
    """
    path = _package_dir("river", "load_yeast") / "datasets" / "yeast.csv.gz"
    features, labels = _read_yeast(str(path))
    task_groups = _label_groups(labels)
    return _make_bunch(
        features.copy(),
        labels.copy(),
        feature_names=FEATURE_NAMES,
        target_names=LABEL_NAMES,
        feature_groups=FEATURE_GROUPS,
        task_groups=task_groups,
        descr=_describe(labels, task_groups),
        as_frame=as_frame,
        return_X_y=return_X_y,
    )


@functools.lru_cache(maxsize=1)
def _read_yeast(path):
    """Read the feature and label arrays; cached per file."""
    table = pd.read_csv(path)
    features = table[FEATURE_NAMES].to_numpy(dtype=np.float64)
    labels = table[LABEL_NAMES].to_numpy(dtype=np.int64)
    features.flags.writeable = False
    labels.flags.writeable = False
    return features, labels


def _label_groups(labels):
    """Group the labels into main tasks by clustering their correlations."""
    distance = 1.0 - np.corrcoef(labels, rowvar=False)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    cluster_ids = fcluster(tree, t=N_MAIN_TASKS, criterion="maxclust")

    # Name the groups in the order of their first label, whatever ids
    # fcluster happened to give them.
    first_seen = dict.fromkeys(cluster_ids)
    names = [f"labels_{letter}" for letter in "abcdefghijklmnopqrstuvwxyz"]
    return {
        name: [label for label, cid in zip(LABEL_NAMES, cluster_ids) if cid == group]
        for name, group in zip(names, first_seen)
    }


def _describe(labels, task_groups):
    """Full description of the yeast data set and its label groups."""
    rates = labels.mean(axis=0)
    lowest, highest = f"{rates.min():.1%}", f"{rates.max():.1%}"
    groups = "\n".join(
        f"- {name}: {', '.join(members)}" for name, members in task_groups.items()
    )
    return f"""Yeast gene functions
====================

2,417 genes of the yeast Saccharomyces cerevisiae, each described by 103
numeric features (Att1 ... Att103) and annotated with any of 14 functional
classes (Class1 ... Class14), with positive rates from {lowest} to {highest}.
The file is the MULAN multi-label version (Elisseeff and Weston, 2002),
shipped as datasets/yeast.csv.gz in the river package.

Feature groups: att_1_79 (Att1 ... Att79) and att_80_103 (Att80 ... Att103);
the features' correlation structure splits there.

Main tasks: the file gives no grouping of the classes. The 14 labels are
grouped into {N_MAIN_TASKS} main tasks by average-linkage hierarchical clustering
of their pairwise Pearson correlation, with 1 - correlation as the distance,
cut into {N_MAIN_TASKS} clusters (scipy). Main tasks are named in the order of
their first label:
{groups}
"""
