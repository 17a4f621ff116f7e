"""The figures of the HiSS paper for any fitted pipeline, drawn with matplotlib.

Each function takes a fitted :class:`~sklearn.pipeline.Pipeline` whose steps
include a :class:`~sklearn_hiss.SOMPseudoLabeler` (for example FactorReducer ->
SOMPseudoLabeler -> HiSSClassifier) and the rows to describe. The steps before
the SOM give the *indicators* (the factor scores when the first step is a
:class:`~sklearn_hiss.FactorReducer`); the SOM gives each row its cluster.

- :func:`plot_factor_clusters`: the rows in the plane of two indicators (or of
  their first two principal components), coloured by cluster (Figure 3).
- :func:`plot_cluster_profiles`: the mean of every indicator per cluster
  (Figure 4).
- :func:`plot_monthly_event_rate`: the mean predicted probability of every
  sub-task of one main task, per cluster (Figure 5).

matplotlib is an optional dependency: ``pip install "sklearn-hiss[plots]"``.
"""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._som import SOMPseudoLabeler

__all__ = [
    "plot_cluster_profiles",
    "plot_factor_clusters",
    "plot_monthly_event_rate",
]


_LEGEND_OUTSIDE = {"loc": "upper left", "bbox_to_anchor": (1.01, 1)}


def _pyplot():
    """Import matplotlib's pyplot, or say which extra installs it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "sklearn_hiss.plotting needs matplotlib, which is not installed; "
            'install it with pip install "sklearn-hiss[plots]".'
        ) from exc
    return plt


def _new_axes(ax, figsize):
    if ax is not None:
        return ax
    _, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
    return ax


def _som_position(pipeline):
    """Index of the pipeline's SOMPseudoLabeler step."""
    if not isinstance(pipeline, Pipeline):
        raise TypeError(
            "pipeline must be a fitted sklearn Pipeline holding a SOMPseudoLabeler "
            f"step; got {type(pipeline).__name__}. Build it as Pipeline([... "
            "SOMPseudoLabeler(), HiSSClassifier(pseudo_labels='passthrough')])."
        )
    for position, (_, step) in enumerate(pipeline.steps):
        if isinstance(step, SOMPseudoLabeler):
            return position
    raise ValueError(
        "pipeline has no SOMPseudoLabeler step, so its rows have no clusters; got "
        f"steps {[name for name, _ in pipeline.steps]}. Add a SOMPseudoLabeler "
        "after the FactorReducer."
    )


def _indicator_names(head, n_columns):
    if head is None:
        return [f"x{i}" for i in range(n_columns)]
    try:
        return [str(name) for name in head.get_feature_names_out()]
    except (AttributeError, ValueError, TypeError):
        return [f"x{i}" for i in range(n_columns)]


def _indicators_and_clusters(pipeline, X):
    """Indicators (input of the SOM), their names, cluster ids and the SOM."""
    position = _som_position(pipeline)
    som = pipeline.steps[position][1]
    check_is_fitted(som)
    head = pipeline[:position] if position else None
    indicators = X if head is None else head.transform(X)
    indicators = np.asarray(indicators, dtype=np.float64)
    names = _indicator_names(head, indicators.shape[1])
    return indicators, names, som.predict(indicators), som


def _cluster_label(cluster, grid_shape):
    row, col = divmod(int(cluster), grid_shape[1])
    return f"cluster {cluster} ({row}, {col})"


def _cluster_colours(n_clusters):
    cmap = _pyplot().get_cmap("tab10" if n_clusters <= 10 else "tab20")
    return [cmap(k % cmap.N) for k in range(n_clusters)]


def _principal_plane(indicators):
    """First two principal components of the indicators and their variance share."""
    centred = indicators - indicators.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    share = singular**2 / max(np.sum(singular**2), np.finfo(float).tiny)
    plane = centred @ components[:2].T
    labels = [f"component {i + 1} ({share[i]:.0%} of variance)" for i in range(2)]
    return plane, labels


def _indicator_position(factor, names):
    if isinstance(factor, str):
        if factor not in names:
            raise ValueError(
                f"factors names {factor!r}, which is not an indicator of the "
                f"pipeline; choose among {names}."
            )
        return names.index(factor)
    if isinstance(factor, int | np.integer) and -len(names) <= factor < len(names):
        return int(factor) % len(names)
    raise ValueError(
        f"factors must hold two indicator names or positions below {len(names)}; "
        f"got {factor!r}."
    )


def _plane(indicators, names, factors):
    if factors is None:
        if indicators.shape[1] < 2:
            raise ValueError(
                "plot_factor_clusters needs at least two indicators to draw a plane; "
                f"the pipeline gives {indicators.shape[1]}."
            )
        return _principal_plane(indicators)
    if isinstance(factors, str) or len(factors) != 2:
        raise ValueError(
            "factors must be None or a pair (x, y) of indicator names or positions; "
            f"got {factors!r}."
        )
    columns = [_indicator_position(f, names) for f in factors]
    return indicators[:, columns], [names[c] for c in columns]


def plot_factor_clusters(pipeline, X, *, factors=None, ax=None):
    """Scatter the rows in a plane of their indicators, coloured by SOM cluster.

    The paper's Figure 3. Each cluster's centroid in the plane is marked with
    its id.

    Parameters
    ----------
    pipeline : Pipeline
        A fitted pipeline holding a :class:`~sklearn_hiss.SOMPseudoLabeler`
        step; the steps before it compute the indicators.
    X : array-like of shape (n_samples, n_features)
        Rows to draw, in the pipeline's input layout.
    factors : pair of str or int, default=None
        Indicators (names from the steps before the SOM, or positions) on the
        x and y axes. None draws the first two principal components of the
        indicators.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_hiss import FactorReducer, SOMPseudoLabeler
    >>> from sklearn_hiss.plotting import plot_factor_clusters
    >>> X = np.random.default_rng(0).normal(size=(100, 4))
    >>> pipe = make_pipeline(FactorReducer(n_factors=2),
    ...                      SOMPseudoLabeler(n_clusters=4, random_state=0)).fit(X)
    >>> plot_factor_clusters(pipe, X).get_xlabel()
    'x_f1'
    """
    indicators, names, clusters, som = _indicators_and_clusters(pipeline, X)
    if factors is None and indicators.shape[1] == 2:
        factors = (0, 1)
    points, axis_labels = _plane(indicators, names, factors)
    ax = _new_axes(ax, (6.4, 4.8))
    colours = _cluster_colours(som.n_clusters_)
    for cluster in np.unique(clusters):
        rows = clusters == cluster
        label = _cluster_label(cluster, som.grid_shape_)
        colour = colours[cluster]
        ax.scatter(*points[rows].T, s=8, alpha=0.5, color=colour, label=label)
        centre = points[rows].mean(axis=0)
        ax.annotate(str(cluster), centre, ha="center", va="center", weight="bold")
    ax.set_xlabel(axis_labels[0])
    ax.set_ylabel(axis_labels[1])
    ax.set_title("Rows by SOM cluster")
    ax.legend(fontsize="small", markerscale=2, **_LEGEND_OUTSIDE)
    return ax


def plot_cluster_profiles(pipeline, X, *, ax=None, cmap="RdBu_r"):
    """Heat map of the mean of every indicator in every SOM cluster.

    The paper's Figure 4. Rows are clusters (labelled with their grid cell),
    columns are indicators; the colour scale is symmetric around 0, which is
    the overall mean of standardised factor scores, and clipped at the 95th
    percentile of the absolute means so that one outlying cluster does not wash
    out the others.

    Parameters
    ----------
    pipeline : Pipeline
        A fitted pipeline holding a :class:`~sklearn_hiss.SOMPseudoLabeler`
        step; the steps before it compute the indicators.
    X : array-like of shape (n_samples, n_features)
        Rows to summarise, in the pipeline's input layout.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a new figure.
    cmap : str or Colormap, default="RdBu_r"
        Diverging colour map of the means.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on; ``ax.images[0].get_array()`` holds the means, one
        row per cluster present in X.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_hiss import FactorReducer, SOMPseudoLabeler
    >>> from sklearn_hiss.plotting import plot_cluster_profiles
    >>> X = np.random.default_rng(0).normal(size=(100, 4))
    >>> pipe = make_pipeline(FactorReducer(n_factors=2),
    ...                      SOMPseudoLabeler(n_clusters=4, random_state=0)).fit(X)
    >>> plot_cluster_profiles(pipe, X).images[0].get_array().shape
    (4, 2)
    """
    indicators, names, clusters, som = _indicators_and_clusters(pipeline, X)
    present = np.unique(clusters)
    means = np.vstack([indicators[clusters == k].mean(axis=0) for k in present])
    # A tiny outlying cluster can have extreme means: clip the colour scale at
    # the 95th percentile so that the other clusters stay readable.
    limit = max(float(np.quantile(np.abs(means), 0.95)), np.finfo(float).eps)
    width = max(6.4, 0.35 * len(names) + 2.5)
    ax = _new_axes(ax, (width, 0.45 * len(present) + 2.0))
    image = ax.imshow(means, cmap=cmap, vmin=-limit, vmax=limit, aspect="auto")
    ax.set_xticks(range(len(names)), names, rotation=90, fontsize="small")
    ax.set_yticks(
        range(len(present)), [_cluster_label(k, som.grid_shape_) for k in present]
    )
    ax.figure.colorbar(image, ax=ax, label="mean indicator value", extend="both")
    ax.set_title("Mean indicator value per SOM cluster")
    return ax


def _classifier(pipeline):
    final = pipeline.steps[-1][1]
    if not hasattr(final, "hierarchy_"):
        raise ValueError(
            "plot_monthly_event_rate needs a fitted HiSSClassifier as the last step "
            f"of the pipeline; got {type(final).__name__}."
        )
    return final


def _main_task_columns(hierarchy, main_task):
    groups = hierarchy.groups()
    if main_task is None:
        main_task = "month" if "month" in groups else hierarchy.main_tasks[0]
    if main_task not in groups:
        raise ValueError(
            f"main_task={main_task!r} is not a main task of the classifier; choose "
            f"among {list(groups)}."
        )
    members = hierarchy.main_index == list(groups).index(main_task)
    return main_task, groups[main_task], np.flatnonzero(members)


def _positive_probabilities(pipeline, X, positions):
    probas = pipeline.predict_proba(X)
    probas = [probas] if isinstance(probas, np.ndarray) else probas
    columns = []
    for t in positions:
        if probas[t].shape[1] > 2:
            raise ValueError(
                f"plot_monthly_event_rate plots binary sub-tasks, but sub-task {t} "
                f"has {probas[t].shape[1]} classes; pick a main task of yes/no "
                "sub-tasks with main_task."
            )
        columns.append(probas[t][:, -1])
    return np.column_stack(columns)


def _observed_rates(Y, positions):
    values = np.asarray(Y, dtype=np.float64)
    values = values[:, None] if values.ndim == 1 else values
    values = values[:, positions]
    values[values < 0] = np.nan
    return np.nanmean(values, axis=0)


def plot_monthly_event_rate(pipeline, X, *, main_task=None, Y=None, ax=None):
    """Mean predicted event probability of each sub-task of one main task, per cluster.

    The paper's Figure 5: one line per SOM cluster across the sub-tasks of a
    main task (the calendar months of the flights data), showing which groups
    need attention when.

    Parameters
    ----------
    pipeline : Pipeline
        A fitted pipeline holding a :class:`~sklearn_hiss.SOMPseudoLabeler`
        step and ending in a fitted :class:`~sklearn_hiss.HiSSClassifier`.
    X : array-like of shape (n_samples, n_features)
        Rows to predict, in the pipeline's input layout.
    main_task : str or int, default=None
        Main task whose (binary) sub-tasks form the x axis. None takes
        ``"month"`` when the classifier has it, else its first main task.
    Y : array-like of shape (n_samples, n_subtasks), default=None
        True labels (0/1; negative values or NaN are unlabeled) of the same
        rows; when given, their observed rate over all rows is drawn as a
        dashed black line.
    ax : matplotlib Axes, default=None
        Axes to draw on; None creates a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The Axes drawn on; one line per cluster present in X (plus the observed
        line when `Y` is given).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_hiss import FactorReducer, HiSSClassifier, SOMPseudoLabeler
    >>> from sklearn_hiss.datasets import make_hierarchical_classification
    >>> from sklearn_hiss.plotting import plot_monthly_event_rate
    >>> X, Y = make_hierarchical_classification(n_samples=200, tasks=(4, 2),
    ...                                         random_state=0)
    >>> pipe = make_pipeline(
    ...     FactorReducer(n_factors=2, keep_inputs=True),
    ...     SOMPseudoLabeler(n_clusters=4, random_state=0),
    ...     HiSSClassifier(tasks=[0, 0, 0, 0, 1, 1], pseudo_labels="passthrough",
    ...                    max_epochs=3, early_stopping=False, random_state=0),
    ... ).fit(X, Y)
    >>> ax = plot_monthly_event_rate(pipe, X, main_task=0, Y=Y)
    >>> len(ax.get_xticks())
    4
    """
    _, _, clusters, som = _indicators_and_clusters(pipeline, X)
    hierarchy = _classifier(pipeline).hierarchy_
    main_task, names, positions = _main_task_columns(hierarchy, main_task)
    probabilities = _positive_probabilities(pipeline, X, positions)
    ax = _new_axes(ax, (max(6.4, 0.5 * len(names) + 2.0), 4.8))
    colours = _cluster_colours(som.n_clusters_)
    steps = np.arange(len(names))
    for cluster in np.unique(clusters):
        rate = probabilities[clusters == cluster].mean(axis=0)
        label = _cluster_label(cluster, som.grid_shape_)
        ax.plot(steps, rate, marker="o", color=colours[cluster], label=label)
    if Y is not None:
        observed = _observed_rates(Y, positions)
        ax.plot(steps, observed, "k--", label="observed, all rows")
    ax.set_xticks(steps, [str(n) for n in names], rotation=45, ha="right")
    ax.set_xlabel(f"sub-task of main task {main_task!r}")
    ax.set_ylabel("mean predicted probability")
    ax.set_title(f"Predicted event rate per cluster: {main_task}")
    ax.legend(fontsize="small", **_LEGEND_OUTSIDE)
    return ax
