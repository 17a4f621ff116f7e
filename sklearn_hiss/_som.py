"""Self-organising-map pseudo-labels for the auxiliary task of HiSS."""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from minisom import MiniSom
from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin, _fit_context
from sklearn.metrics import silhouette_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_is_fitted,
    validate_data,
)

from ._targets import check_numeric_features

__all__ = ["SOMPseudoLabeler"]

# Rows per block when assigning rows to their nearest cell and when measuring
# the map's errors: bounds the temporaries on very large inputs (a block of
# 16,384 rows x 50 features in float64 is 6.25 MiB).
_BLOCK_ROWS = 16_384
_MIN_DEFAULT_ITERATIONS = 1_000
_MAX_DEFAULT_ITERATIONS = 20_000
_ITERATIONS_PER_ROW = 10


def _near_square_grid(n_cells):
    """The most nearly square ``(rows, cols)`` grid of ``n_cells`` cells.

    ``rows`` is the largest divisor of ``n_cells`` not above its square root:
    6 -> (2, 3), 9 -> (3, 3), 7 -> (1, 7).
    """
    rows = max(d for d in range(1, math.isqrt(n_cells) + 1) if n_cells % d == 0)
    return rows, n_cells // rows


# Squared distances of values beyond this magnitude overflow float64, and those
# of values below its inverse vanish.
_MAX_MAGNITUDE = 1e150


def _check_magnitude(X):
    """Refuse training values whose squared distances overflow or vanish.

    The map computes its distances in float64 whatever the dtype of `X`.
    """
    # max and min, not abs(X): no temporary as large as X.
    magnitude = float(max(X.max(), -X.min())) if X.size else 0.0
    if magnitude > _MAX_MAGNITUDE or 0 < magnitude < 1 / _MAX_MAGNITUDE:
        raise ValueError(
            f"X holds values of magnitude {magnitude:.1e}, whose squared distances "
            "overflow or vanish in float64, so the map would be meaningless. "
            "Standardise X first, e.g. with a StandardScaler in a Pipeline before "
            "SOMPseudoLabeler."
        )


def _nearest_cell(X, codebook):
    """Flat index of the codebook vector nearest to each row of ``X``.

    Vectorised over rows (in blocks); both sides are centred on the codebook
    mean first, which keeps the squared-distance expansion accurate for data
    far from the origin.
    """
    cells = codebook.reshape(-1, codebook.shape[-1])
    centre = cells.mean(axis=0)
    cells = cells - centre
    cell_norms = np.einsum("ij,ij->i", cells, cells)
    winners = np.empty(X.shape[0], dtype=np.int64)
    for start in range(0, X.shape[0], _BLOCK_ROWS):
        block = X[start : start + _BLOCK_ROWS] - centre
        # ||x - w||^2 minus the per-row constant ||x||^2: same argmin.
        partial = cell_norms - 2.0 * (block @ cells.T)
        winners[start : start + _BLOCK_ROWS] = np.argmin(partial, axis=1)
    return winners


def _blockwise_mean(metric, X):
    """``metric(X)``, a mean over rows such as MiniSom's errors, block by block.

    MiniSom's errors build several temporaries as large as `X` in float64;
    on blocks of rows (each cast to float64) they stay small on millions of
    rows, and the mean is the same.
    """
    total = 0.0
    for start in range(0, X.shape[0], _BLOCK_ROWS):
        block = X[start : start + _BLOCK_ROWS].astype(np.float64, copy=False)
        total += metric(block) * block.shape[0]
    return float(total / X.shape[0])


def _silhouette_or_nan(X, labels):
    """Silhouette score of ``labels``, or NaN where it is undefined."""
    n_labels = np.unique(labels).size
    if not 2 <= n_labels <= labels.shape[0] - 1:
        return np.nan
    return float(silhouette_score(X, labels))


class SOMPseudoLabeler(ClusterMixin, TransformerMixin, BaseEstimator):
    """Pseudo-labels from a self-organising map (SOM) on a small grid.

    Each cell of a rectangular SOM grid is one cluster; a row's pseudo-label
    is the flat index ``row * cols + col`` of its best-matching cell.
    Neighbouring cells hold similar rows, which makes the labels a sensible
    target for the self-supervised auxiliary task of HiSS. The grid is given
    or chosen among candidate cluster counts, each on a near-square grid, by
    the best silhouette score.

    As a transformer it returns the input with one appended column,
    ``pseudo_label``, holding the cluster id; this is the layout that
    ``HiSSClassifier(pseudo_labels="passthrough")`` reads.

    Parameters
    ----------
    n_clusters : "auto" or int, default="auto"
        Number of clusters (grid cells). ``"auto"`` fits one map per entry of
        `candidate_clusters` and keeps the one with the best silhouette
        score; an int ``k`` uses a near-square grid of ``k`` cells
        (``rows`` = largest divisor of ``k`` not above its square root, so
        6 -> 2 x 3 and 7 -> 1 x 7). Ignored when `grid_shape` is given.
        A single cell is accepted, as by scikit-learn's clusterers, but
        warns: one label for every row gives the auxiliary task nothing to
        learn.

    grid_shape : tuple of (int, int), default=None
        Explicit ``(rows, cols)`` of the grid.
        Overrides `n_clusters` and `candidate_clusters`.

    candidate_clusters : array-like of int, default=(4, 6, 8, 10)
        Cluster counts tried when ``n_clusters="auto"``. Counts with more
        cells than training rows are skipped (when all have more, the
        smallest is used, with a warning). A grid given by `n_clusters` or
        `grid_shape` with more cells than training rows warns likewise.

    sigma : float, default=1.0
        Initial spread of the neighbourhood function, in grid units.

    learning_rate : float, default=0.5
        Initial learning rate of the map.

    n_iterations : int, default=None
        Number of single-row updates per map. ``None`` uses
        ``min(max(1000, 10 * n_samples), 20000)``: every row is visited
        about ten times on small data, while the cost stays bounded (a few
        seconds per candidate) on millions of rows. When `n_iterations` is
        below the number of rows, a random subset of that many distinct
        rows is visited once each; otherwise all rows are cycled through in
        random order.

    neighborhood_function : {"gaussian", "mexican_hat", "bubble", \
"triangle"}, default="gaussian"
        Neighbourhood function of the map.

    silhouette_sample_size : int, default=2000
        The silhouette score of each candidate is computed on a random
        sample of at most this many rows (the same sample for every
        candidate), which keeps its quadratic cost bounded. ``None`` scores
        all rows.

    random_state : int, RandomState instance or None, default=None
        Controls the weight initialisation, the order of training rows and
        the silhouette sample. Pass an int for reproducible fits.

    Attributes
    ----------
    grid_shape_ : tuple of (int, int)
        ``(rows, cols)`` of the selected map.

    n_clusters_ : int
        Number of cells of the selected map, ``rows * cols``.

    codebook_ : ndarray of shape (rows, cols, `n_features_in_`)
        Weight vector of every cell of the selected map.

    silhouette_scores_ : dict of int to float
        Silhouette score of every cluster count tried (NaN where fewer than
        two or more than ``n_samples - 1`` distinct labels occurred).

    quantization_error_ : float
        Mean distance of the training rows to their best-matching cell.

    topographic_error_ : float
        Share of training rows whose two best-matching cells are not
        adjacent on the grid (0 = topology fully preserved).

    labels_ : ndarray of shape (n_samples,)
        Cluster id of every training row, in ``[0, n_clusters_)``.

    som_ : minisom.MiniSom
        The fitted map.

    n_features_in_ : int
        Number of features seen during `fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during `fit`. Defined only when `X` has
        feature names that are all strings.

    See Also
    --------
    sklearn.cluster.KMeans : Clustering without a grid topology.

    Examples
    --------
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn_hiss import SOMPseudoLabeler
    >>> X, _ = make_blobs(n_samples=200, centers=4, random_state=0)
    >>> som = SOMPseudoLabeler(n_clusters=4, random_state=0).fit(X)
    >>> som.grid_shape_, som.labels_.shape
    ((2, 2), (200,))
    >>> som.transform(X).shape
    (200, 3)
    >>> som.get_feature_names_out().tolist()
    ['x0', 'x1', 'pseudo_label']
    """

    _parameter_constraints: dict = {
        "n_clusters": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "grid_shape": [tuple, list, None],
        "candidate_clusters": ["array-like"],
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "n_iterations": [Interval(Integral, 1, None, closed="left"), None],
        "neighborhood_function": [
            StrOptions({"gaussian", "mexican_hat", "bubble", "triangle"})
        ],
        "silhouette_sample_size": [Interval(Integral, 2, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_clusters="auto",
        *,
        grid_shape=None,
        candidate_clusters=(4, 6, 8, 10),
        sigma=1.0,
        learning_rate=0.5,
        n_iterations=None,
        neighborhood_function="gaussian",
        silhouette_sample_size=2000,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.grid_shape = grid_shape
        self.candidate_clusters = candidate_clusters
        self.sigma = sigma
        self.learning_rate = learning_rate
        self.n_iterations = n_iterations
        self.neighborhood_function = neighborhood_function
        self.silhouette_sample_size = silhouette_sample_size
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the map (or one map per candidate grid) to `X`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows; finite numbers only.

        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : SOMPseudoLabeler
            The fitted estimator.
        """
        check_numeric_features(X, "SOMPseudoLabeler")
        # float32 stays float32 (no copy of a large X); distances are float64.
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        _check_magnitude(X)
        grids = self._grids_to_try(X.shape[0])
        self._warn_about_grid(grids[0], X.shape[0])
        rng = check_random_state(self.random_state)
        seeds = rng.randint(np.iinfo(np.int32).max, size=len(grids))
        X_scored = X[self._score_rows(X.shape[0], rng)].astype(np.float64, copy=False)
        n_iterations = self._resolve_n_iterations(X.shape[0])

        fitted = [
            self._fit_map(X, grid, n_iterations, X_scored, int(seed))
            for grid, seed in zip(grids, seeds)
        ]
        scores = {rows * cols: score for (rows, cols), (_, score) in zip(grids, fitted)}
        best = _best_candidate(list(scores.values()))
        self._set_fitted_state(X, grids[best], fitted[best][0], scores)
        return self

    def predict(self, X):
        """Cluster id of each row: the flat index of its best-matching cell.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to assign.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int64
            Cluster ids in ``[0, n_clusters_)``.
        """
        check_is_fitted(self)
        check_numeric_features(X, "SOMPseudoLabeler")
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return _nearest_cell(X, self.codebook_)

    def transform(self, X):
        """Append the cluster id of each row as a last column.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to label.

        Returns
        -------
        X_out : ndarray of shape (n_samples, n_features + 1)
            `X` as floats, followed by the cluster id. With
            ``set_output(transform="pandas")``, a DataFrame whose
            ``pseudo_label`` column has an integer dtype.
        """
        check_is_fitted(self)
        index = getattr(X, "index", None) if hasattr(X, "columns") else None
        check_numeric_features(X, "SOMPseudoLabeler")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        labels = _nearest_cell(X, self.codebook_)
        if _get_output_config("transform", self)["dense"] == "pandas":
            return self._pandas_output(X, labels, index)
        return np.column_stack([X, labels.astype(X.dtype)])

    def get_feature_names_out(self, input_features=None):
        """Output feature names: the input names, then ``"pseudo_label"``.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names. If None, `feature_names_in_` is used when
            defined, else ``["x0", "x1", ...]``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            Names of the output columns of `transform`.
        """
        check_is_fitted(self, "n_features_in_")
        names = _check_feature_names_in(self, input_features)
        return np.asarray([*names, "pseudo_label"], dtype=object)

    def _grids_to_try(self, n_samples):
        """Grid shapes to fit, in increasing number of cells."""
        if self.grid_shape is not None:
            return [self._checked_grid_shape()]
        if self.n_clusters != "auto":
            return [_near_square_grid(int(self.n_clusters))]
        candidates = self._checked_candidates()
        fitting = [k for k in candidates if k <= n_samples]
        if not fitting:
            warnings.warn(
                f"Every count in candidate_clusters={list(candidates)} has more "
                f"cells than the {n_samples} training rows; using the smallest, "
                f"{candidates[0]}. Pass fewer clusters or more rows.",
                UserWarning,
                stacklevel=4,
            )
            fitting = candidates[:1]
        return [_near_square_grid(k) for k in fitting]

    def _checked_grid_shape(self):
        shape = tuple(self.grid_shape)
        valid = len(shape) == 2 and all(
            isinstance(n, Integral) and not isinstance(n, bool) and n >= 1
            for n in shape
        )
        if not valid:
            raise ValueError(
                "grid_shape must be a pair of positive integers (rows, cols); "
                f"got {self.grid_shape!r}. Pass for example grid_shape=(2, 3), "
                "or grid_shape=None."
            )
        return int(shape[0]), int(shape[1])

    def _checked_candidates(self):
        counts = np.asarray(self.candidate_clusters)
        is_int = counts.dtype.kind in "iu"
        if counts.ndim != 1 or counts.size == 0 or not is_int or counts.min() < 2:
            raise ValueError(
                "candidate_clusters must be a non-empty sequence of integers >= 2; "
                f"got {self.candidate_clusters!r}. Pass for example "
                "candidate_clusters=(4, 6, 8, 10)."
            )
        return [int(k) for k in np.unique(counts)]

    def _warn_about_grid(self, grid, n_samples):
        """Warn about settings that make the smallest grid uninformative."""
        rows, cols = grid
        chosen = self.grid_shape is not None or self.n_clusters != "auto"
        if chosen and rows * cols > n_samples:
            setting = (
                f"grid_shape={self.grid_shape!r}"
                if self.grid_shape is not None
                else f"n_clusters={self.n_clusters!r}"
            )
            warnings.warn(
                f"{setting} gives a {rows}x{cols} grid, with more cells than the "
                f"{n_samples} training rows, so cells stay empty and the "
                "pseudo-labels say little about similar rows. Pass fewer "
                "clusters (or n_clusters='auto') or more rows.",
                UserWarning,
                stacklevel=4,
            )
        if rows * cols == 1:
            warnings.warn(
                "A 1x1 grid gives every row the same pseudo-label, so the "
                "auxiliary task has nothing to learn; use n_clusters >= 2 or "
                "n_clusters='auto'.",
                UserWarning,
                stacklevel=4,
            )
        if self.sigma > math.hypot(rows, cols):
            warnings.warn(
                f"sigma={self.sigma} exceeds the diagonal of the {rows}x{cols} "
                "grid, so every update moves the whole map; lower sigma "
                "(1.0 suits small grids).",
                UserWarning,
                stacklevel=4,
            )

    def _resolve_n_iterations(self, n_samples):
        if self.n_iterations is not None:
            return int(self.n_iterations)
        wanted = max(_MIN_DEFAULT_ITERATIONS, _ITERATIONS_PER_ROW * n_samples)
        return min(wanted, _MAX_DEFAULT_ITERATIONS)

    def _score_rows(self, n_samples, rng):
        """Indices of the rows on which the silhouette score is computed."""
        size = self.silhouette_sample_size
        if size is None or size >= n_samples:
            return np.arange(n_samples)
        return np.sort(rng.choice(n_samples, size=size, replace=False))

    def _fit_map(self, X, grid, n_iterations, X_scored, seed):
        """Train one map on ``grid``; return it and its silhouette on `X_scored`."""
        with warnings.catch_warnings():
            # The sigma-versus-grid warning is issued once, in our own words.
            warnings.filterwarnings("ignore", message=".*sigma might be too high")
            som = MiniSom(
                *grid,
                X.shape[1],
                sigma=self.sigma,
                learning_rate=self.learning_rate,
                neighborhood_function=self.neighborhood_function,
                random_seed=seed,
            )
        som.random_weights_init(X)
        rows = _training_rows(X, n_iterations, np.random.RandomState(seed))
        som.train(rows, n_iterations, random_order=True)
        labels = _nearest_cell(X_scored, som.get_weights())
        return som, _silhouette_or_nan(X_scored, labels)

    def _set_fitted_state(self, X, grid, som, scores):
        self.som_ = som
        self.grid_shape_ = grid
        self.n_clusters_ = grid[0] * grid[1]
        self.codebook_ = som.get_weights().copy()
        self.silhouette_scores_ = scores
        self.labels_ = _nearest_cell(X, self.codebook_)
        self.quantization_error_ = _blockwise_mean(som.quantization_error, X)
        # MiniSom warns and returns NaN for a single cell: skip the call.
        single_cell = self.n_clusters_ == 1
        self.topographic_error_ = (
            np.nan if single_cell else _blockwise_mean(som.topographic_error, X)
        )

    def _pandas_output(self, X, labels, index):
        import pandas as pd

        names = self.get_feature_names_out()
        frame = pd.DataFrame(X, columns=names[:-1], index=index)
        frame.insert(X.shape[1], names[-1], labels, allow_duplicates=True)
        return frame


def _training_rows(X, n_iterations, rng):
    """Rows fed to the map, so that ``n_iterations`` updates cover all of `X`.

    MiniSom visits rows ``0 .. n_iterations - 1`` only when ``n_iterations``
    is below the number of rows; a random subset avoids that bias towards
    the first rows (e.g. on data sorted by a column).
    """
    if n_iterations >= X.shape[0]:
        return X
    return X[rng.choice(X.shape[0], size=n_iterations, replace=False)]


def _best_candidate(scores):
    """Index of the best score; ties and near-ties go to the smaller grid."""
    scores = np.asarray(scores, dtype=float)
    if not np.all(np.isnan(scores)):
        return int(np.flatnonzero(scores >= np.nanmax(scores) - 1e-12)[0])
    if scores.size > 1:
        warnings.warn(
            "The silhouette score is undefined for every candidate grid (all "
            "rows fell in one cell, or every row in its own); using the "
            "smallest grid. Check that X is not constant.",
            UserWarning,
            stacklevel=4,
        )
    return 0
