"""Synthetic hierarchical multi-task classification data with known structure."""

from numbers import Integral

import numpy as np
from scipy.special import expit
from sklearn.utils import check_random_state

from ._base import _check_integer, _check_real, _make_bunch

# Rows used to solve for the logit offsets that give the asked positive rate.
_OFFSET_SAMPLE = 5_000
_SOLVER_STEPS = 60
_RATE_TOLERANCE = 1e-6
# Rows per block when adding the cluster centres to X.
_BLOCK_ROWS = 8192


def make_hierarchical_classification(
    n_samples=1000,
    n_features=20,
    tasks=(12, 5),
    *,
    n_clusters=6,
    cluster_std=1.0,
    global_signal=1.0,
    local_signal=1.0,
    task_signal=0.5,
    cluster_signal=1.0,
    positive_rate=0.2,
    missing_rate=0.0,
    n_feature_groups=1,
    as_frame=False,
    return_X_y=True,
    random_state=None,
):
    """Generate multi-task binary labels with known hierarchical structure.

    Rows of `X` are drawn around `n_clusters` centres (standard normal
    coordinates) with spread `cluster_std`. Each sub-task's logit adds up

    - a globally shared part: `X` projected on one direction common to all
      sub-tasks, times `global_signal`;
    - a locally shared part: `X` projected on one direction per main task,
      common to its sub-tasks, times `local_signal`;
    - a task-specific part: `X` projected on one direction per sub-task, times
      `task_signal`;
    - a cluster part: one random offset per latent cluster, common to all
      sub-tasks, times `cluster_signal`;

    plus one offset per sub-task chosen so that its positive rate is close to
    `positive_rate`. Directions are random unit vectors and projections are
    scaled to unit variance. Labels are drawn as Bernoulli(sigmoid(logit)).

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_features : int, default=20
        Number of features.
    tasks : sequence of int, default=(12, 5)
        Number of sub-tasks of each main task.
    n_clusters : int, default=6
        Number of latent clusters the rows are drawn around.
    cluster_std : float, default=1.0
        Standard deviation of the rows around their cluster centre.
    global_signal : float, default=1.0
        Weight of the direction shared by all sub-tasks.
    local_signal : float, default=1.0
        Weight of the direction shared by the sub-tasks of one main task.
    task_signal : float, default=0.5
        Weight of each sub-task's own direction.
    cluster_signal : float, default=1.0
        Weight of the per-cluster offset shared by all sub-tasks.
    positive_rate : float or array-like of shape (n_sub_tasks,), default=0.2
        Target share of positive labels, for all sub-tasks or per sub-task;
        met up to sampling noise.
    missing_rate : float, default=0.0
        Share of label entries replaced by -1, the unlabeled marker, chosen
        at random after the labels are drawn.
    n_feature_groups : int, default=1
        Number of contiguous, near-equal groups the features are split into
        for `feature_groups`; the groups carry no extra structure.
    as_frame : bool, default=False
        If True, `data` and `target` are DataFrames with columns ``x0``, ...
        and ``y_<main task>_<sub-task>``. If False, they are NumPy arrays and
        the groups hold integer column positions.
    return_X_y : bool, default=True
        If True, return ``(X, Y)``; if False, a Bunch.
    random_state : int, RandomState instance or None, default=None
        Seed or generator that makes the output reproducible.

    Returns
    -------
    X : {ndarray, DataFrame} of shape (n_samples, n_features)
        Features.
    Y : {ndarray, DataFrame} of shape (n_samples, sum(tasks))
        Labels 0 or 1, or -1 where missing; sub-tasks of the first main task
        first.
    bunch : :class:`~sklearn.utils.Bunch`
        Returned instead of ``(X, Y)`` when `return_X_y` is False, with
        `data`, `target`, `frame` (None unless `as_frame`), `feature_names`,
        `target_names`, `feature_groups` (``"group_0"``, ...),
        `task_groups` (``"main_0"``, ...), `clusters` (the true cluster id of
        each row) and `DESCR`.

    See Also
    --------
    load_flight_disruptions : Real data with the same shape of problem.

    Examples
    --------
    >>> from sklearn_hiss.datasets import make_hierarchical_classification
    >>> X, Y = make_hierarchical_classification(
    ...     n_samples=200, tasks=(3, 2), random_state=0
    ... )
    >>> X.shape, Y.shape
    ((200, 20), (200, 5))
    >>> bunch = make_hierarchical_classification(
    ...     n_samples=200, tasks=(3, 2), return_X_y=False, random_state=0
    ... )
    >>> bunch.task_groups
    {'main_0': [0, 1, 2], 'main_1': [3, 4]}
    """
    tasks = _check_tasks(tasks)
    _check_sizes(n_samples, n_features, n_clusters, n_feature_groups)
    _check_weights(
        cluster_std, global_signal, local_signal, task_signal, cluster_signal
    )
    _check_real("missing_rate", missing_rate, low=0, high=1)
    rates = _check_positive_rate(positive_rate, sum(tasks))
    # numpy's Generator draws normals several times faster than RandomState.
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)

    signals = (global_signal, local_signal, task_signal, cluster_signal)
    X, clusters, logits = _draw_rows(
        rng, (n_samples, n_features), tasks, n_clusters, cluster_std, signals
    )
    logits += _offsets(logits[:_OFFSET_SAMPLE], rates)
    Y = (rng.random(logits.shape) < expit(logits)).astype(np.int64)
    if missing_rate > 0:
        Y[rng.random(Y.shape) < missing_rate] = -1

    feature_names = [f"x{k}" for k in range(n_features)]
    task_groups = {
        f"main_{m}": [f"y_{m}_{k}" for k in range(n_sub)]
        for m, n_sub in enumerate(tasks)
    }
    groups = np.array_split(np.arange(n_features), n_feature_groups)
    return _make_bunch(
        X,
        Y,
        feature_names=feature_names,
        target_names=[name for names in task_groups.values() for name in names],
        feature_groups={
            f"group_{g}": [feature_names[k] for k in members]
            for g, members in enumerate(groups)
        },
        task_groups=task_groups,
        descr=_DESCR,
        as_frame=as_frame,
        return_X_y=return_X_y,
        clusters=clusters,
    )


def _check_tasks(tasks):
    """Return `tasks` as a tuple of positive ints or raise a ValueError."""
    valid = (
        not isinstance(tasks, (str, bytes, Integral))
        and np.ndim(tasks) == 1
        and len(tasks) > 0
        and all(isinstance(n, Integral) and not isinstance(n, bool) for n in tasks)
        and all(n >= 1 for n in tasks)
    )
    if not valid:
        raise ValueError(
            f"tasks must be a non-empty sequence of positive integers, one count "
            f"of sub-tasks per main task, got {tasks!r}. Pass e.g. tasks=(12, 5)."
        )
    return tuple(int(n) for n in tasks)


def _check_sizes(n_samples, n_features, n_clusters, n_feature_groups):
    """Validate the integer size parameters."""
    _check_integer("n_samples", n_samples, low=1)
    _check_integer("n_features", n_features, low=1)
    _check_integer("n_clusters", n_clusters, low=1)
    _check_integer("n_feature_groups", n_feature_groups, low=1)
    if n_feature_groups > n_features:
        raise ValueError(
            f"n_feature_groups={n_feature_groups} exceeds n_features={n_features}. "
            "Pass at most one group per feature."
        )


def _check_weights(cluster_std, *signals):
    """Validate the spread and the four signal weights (all >= 0)."""
    names = ["global_signal", "local_signal", "task_signal", "cluster_signal"]
    _check_real("cluster_std", cluster_std, low=0)
    for name, value in zip(names, signals):
        _check_real(name, value, low=0)


def _check_positive_rate(positive_rate, n_sub_tasks):
    """Return one target rate per sub-task, each strictly between 0 and 1."""
    rates = np.asarray(positive_rate, dtype=np.float64)
    if rates.ndim == 0:
        rates = np.full(n_sub_tasks, float(rates))
    valid = rates.shape == (n_sub_tasks,) and np.all((rates > 0) & (rates < 1))
    if not valid:
        raise ValueError(
            f"positive_rate must be a number in (0, 1) or {n_sub_tasks} such "
            f"numbers (one per sub-task), got {positive_rate!r}. Pass e.g. 0.2."
        )
    return rates


def _draw_rows(rng, shape, tasks, n_clusters, cluster_std, signals):
    """Draw the rows, their cluster ids and the sub-tasks' logits (no offset)."""
    (n_samples, n_features), n_main, n_sub = shape, len(tasks), sum(tasks)
    global_signal, local_signal, task_signal, cluster_signal = signals
    centres = rng.standard_normal((n_clusters, n_features))
    clusters = rng.integers(n_clusters, size=n_samples)
    X = rng.standard_normal((n_samples, n_features))
    X *= cluster_std
    # Adding the centres block by block avoids a second n x p temporary array.
    for start in range(0, n_samples, _BLOCK_ROWS):
        block = slice(start, start + _BLOCK_ROWS)
        X[block] += centres[clusters[block]]

    directions = rng.standard_normal((n_features, 1 + n_main + n_sub))
    directions /= np.linalg.norm(directions, axis=0)
    cluster_offsets = rng.standard_normal(n_clusters)

    # Every part of the logit is linear in X, so one weight matrix holds them
    # all. A unit direction gives a projection of variance 1 + cluster_std**2.
    main_of_sub = np.repeat(np.arange(n_main), tasks)
    weights = task_signal * directions[:, 1 + n_main :]
    weights += local_signal * directions[:, 1 + main_of_sub]
    weights += global_signal * directions[:, :1]
    logits = X @ (weights / np.sqrt(1.0 + cluster_std**2))
    logits += cluster_signal * cluster_offsets[clusters, None]
    return X, clusters, logits


def _offsets(logits, rates):
    """Per-column shift making the mean sigmoid of `logits` match `rates`.

    Newton's method on the mean rate, kept inside a shrinking bracket that
    falls back to bisection, so it converges for any logits.
    """
    low = -np.abs(logits).max(axis=0) - 20.0
    high = -low
    offset = np.log(rates / (1.0 - rates)) - logits.mean(axis=0)
    offset = np.clip(offset, low, high)
    for _ in range(_SOLVER_STEPS):
        probability = expit(logits + offset)
        gap = probability.mean(axis=0) - rates
        if np.all(np.abs(gap) < _RATE_TOLERANCE):
            break
        high = np.where(gap > 0, offset, high)
        low = np.where(gap > 0, low, offset)
        slope = (probability * (1.0 - probability)).mean(axis=0)
        newton = offset - gap / np.maximum(slope, 1e-12)
        inside = (newton >= low) & (newton <= high)
        offset = np.where(inside, newton, (low + high) / 2)
    return offset


_DESCR = """Synthetic hierarchical multi-task classification
===============================================

Rows are drawn around latent cluster centres (true ids in `clusters`). Every
sub-task's logit sums a direction shared by all sub-tasks (global_signal), a
direction shared within its main task (local_signal), its own direction
(task_signal) and a per-cluster offset shared by all sub-tasks
(cluster_signal), plus an offset that sets its positive rate. Labels are
Bernoulli draws; -1 marks entries hidden by missing_rate.
"""
