"""Factor analysis per column group: rotated loadings and standardised scores."""

import warnings
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import FactorAnalysis
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from ._targets import check_numeric_features

__all__ = ["FactorAnalysisWarning", "FactorReducer"]

_DEFAULT_GROUP = "x"
# A factor whose unrotated loadings have a smaller norm is not identified.
_DEAD_LOADING_NORM = 1e-6
_OBLIQUE_ROTATIONS = ("promax", "oblimin", "quartimin", "geomin_obl")
_OTHER_ORTHOGONAL_ROTATIONS = ("quartimax", "equamax", "oblimax", "geomin_ort")
_ROTATIONS = ("varimax",) + _OBLIQUE_ROTATIONS + _OTHER_ORTHOGONAL_ROTATIONS
_MISSING_EXTRA = (
    "rotation={rotation!r} needs the optional package factor_analyzer (GPL), which "
    "is not installed. Install it with `pip install sklearn-hiss[factor]`, or use "
    "rotation='varimax' or rotation=None, which need no extra package."
)


class FactorAnalysisWarning(UserWarning):
    """Warning about data that makes a group's factor analysis unreliable.

    :class:`FactorReducer` issues it when it drops a constant column, when a
    group has fewer training rows than columns, and when it drops a factor that
    the group's columns do not identify (one without loadings). The message
    names the group.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from sklearn_hiss import FactorAnalysisWarning, FactorReducer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 1)) + 0.5 * rng.normal(size=(50, 3))
    >>> X[:, 2] = 1.0  # a constant column
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     scores = FactorReducer().fit_transform(X)
    >>> [w.category.__name__ for w in caught]
    ['FactorAnalysisWarning']
    """


def _import_factor_analyzer():
    """Import the optional factor_analyzer parts we use, or raise ImportError."""
    from factor_analyzer.factor_analyzer import (
        calculate_bartlett_sphericity,
        calculate_kmo,
    )
    from factor_analyzer.rotator import Rotator

    return Rotator, calculate_kmo, calculate_bartlett_sphericity


def _varimax(loadings, max_iter=10_000, tol=1e-12):
    """Rotate `loadings` (n_columns, n_factors) by Kaiser-normalised varimax.

    Returns the rotated loadings, the orthogonal rotation matrix ``R`` with
    ``rotated = loadings @ R``, and whether the criterion converged (flat
    criteria, such as a factor that is mostly noise, can need thousands of
    iterations).
    """
    n_columns, n_factors = loadings.shape
    norms = np.sqrt(np.sum(loadings**2, axis=1, keepdims=True))
    norms[norms == 0] = 1.0
    normalised = loadings / norms

    rotation = np.eye(n_factors)
    criterion, converged = 0.0, False
    for _ in range(max_iter):
        rotated = normalised @ rotation
        column_power = np.sum(rotated**2, axis=0) / n_columns
        gradient = normalised.T @ (rotated**3 - rotated * column_power)
        left, singular_values, right = np.linalg.svd(gradient)
        rotation = left @ right
        previous, criterion = criterion, np.sum(singular_values)
        converged = criterion - previous <= tol * max(criterion, 1.0)
        if converged:
            break
    return (normalised @ rotation) * norms, rotation, converged


def _is_positive_int(value):
    return isinstance(value, Integral) and not isinstance(value, bool) and value > 0


def _smallest_count_reaching(eigenvalues, threshold):
    """Smallest k whose k largest eigenvalues reach `threshold` of their sum."""
    shares = np.cumsum(eigenvalues) / np.sum(eigenvalues)
    return int(np.argmax(shares >= threshold - 1e-12)) + 1


def _column_moments(X):
    """Column means, standard deviations (1 for constants) and constant flags.

    Each column is divided by its largest magnitude first, so that squares of
    values near 1e200 do not overflow and those near 1e-200 do not vanish.
    """
    constant = np.ptp(X, axis=0) == 0
    magnitude = np.max(np.abs(X), axis=0)
    magnitude[magnitude == 0] = 1.0
    scale = (X / magnitude).std(axis=0) * magnitude
    scale[constant] = 1.0
    return (X / magnitude).mean(axis=0) * magnitude, scale, constant


def _orient(loadings, factor_correlations):
    """Order factors by explained variance and make each column's sum positive."""
    order = np.argsort(-np.sum(loadings**2, axis=0), kind="stable")
    signs = np.where(np.sum(loadings[:, order], axis=0) < 0, -1.0, 1.0)
    loadings = loadings[:, order] * signs
    factor_correlations = factor_correlations[np.ix_(order, order)]
    return loadings, factor_correlations * np.outer(signs, signs)


def _regression_weights(unrotated, loadings, factor_correlations, uniquenesses):
    """Thurstone regression weights: implied covariance^-1 @ structure matrix.

    The implied covariance ``W W' + diag(uniquenesses)`` does not change under
    rotation, so it is built from the unrotated loadings.
    """
    implied = unrotated @ unrotated.T + np.diag(uniquenesses)
    structure = loadings @ factor_correlations
    return np.linalg.solve(implied, structure)


class FactorReducer(TransformerMixin, BaseEstimator):
    """Factor analysis per group of columns, returning standardised factor scores.

    Each group of columns (for example one data source) is reduced on its own:
    its columns are standardised with the training mean and standard
    deviation, a maximum-likelihood factor model
    (:class:`sklearn.decomposition.FactorAnalysis`, exact LAPACK SVD, so the
    result is deterministic) is fitted, its loadings are rotated, and each row
    gets regression (Thurstone) factor scores, standardised to mean 0 and
    standard deviation 1 on the training rows. The scores of all groups are
    concatenated in group order.

    Parameters
    ----------
    groups : dict of str to list, default=None
        Group name -> the group's columns: column names (when fitted on a pandas
        DataFrame with string column names) or integer positions (any input;
        integers always mean positions, as in ``ColumnTransformer``). Group
        names prefix the output names. None puts all columns in one group
        named ``"x"``. Columns in no group are dropped, as
        ``ColumnTransformer(remainder="drop")`` does. A column listed in two
        groups, or twice in one, is an error. A group of one column has no
        common factor to find: that column passes through, standardised, as
        the group's single score.

    n_factors : int, dict of str to int or None, default=None
        Factors per group: one int for every group, or a dict group name ->
        int (groups missing from the dict, or mapped to None, are chosen
        automatically). None chooses, per group, the smallest count ``k`` whose
        ``k`` largest eigenvalues of the group's correlation matrix reach
        `variance_threshold` of their total.

    variance_threshold : float, default=0.6
        Cumulative share of a group's variance, in (0, 1], that the chosen
        factors' eigenvalues must reach when the count is chosen automatically.

    rotation : str or None, default="varimax"
        Rotation of each group's loadings: ``"varimax"`` (orthogonal, built
        in), None (the unrotated maximum-likelihood loadings), or a rotation
        done by the optional package factor_analyzer (GPL; install with
        ``pip install sklearn-hiss[factor]``): the oblique ``"promax"``,
        ``"oblimin"``, ``"quartimin"``, ``"geomin_obl"`` or the orthogonal
        ``"quartimax"``, ``"equamax"``, ``"oblimax"``, ``"geomin_ort"``. A
        group with one factor is never rotated.

    keep_inputs : bool, default=False
        Also output each group's input columns, standardised with the training
        mean and standard deviation, after all the factor scores (constant
        columns, and the column of a one-column group, which is its score
        already, left out). The factor scores keep about `variance_threshold` of
        the variance; a downstream classifier that sees the inputs too loses
        nothing. Use it when the factors feed a model rather than a reading.
        The recommended HiSS pipeline sets it (see the user guide).

    Attributes
    ----------
    groups_ : dict of str to ndarray of int
        Column positions each group's factor model uses, in the order the
        group lists them;
        constant columns are left out.

    constant_columns_ : dict of str to ndarray of int
        Positions of each group's constant training columns, which were
        dropped (with a :class:`FactorAnalysisWarning`).

    n_factors_ : dict of str to int
        Number of factors fitted per group. It can be below the requested or
        chosen count: a factor that the group's columns do not identify (for
        example a second factor of two uncorrelated columns) has no loadings
        and would score every row 0, so it is dropped with a
        :class:`FactorAnalysisWarning`.

    eigenvalues_ : dict of str to ndarray
        Eigenvalues of each group's training correlation matrix, descending.

    loadings_ : dict of str to ndarray of shape (n_group_columns, n_factors)
        Rotated loadings (the pattern matrix for oblique rotations) on the
        standardised columns, factors ordered by explained variance, each
        factor's loadings summing to a positive number.

    factor_correlations_ : dict of str to ndarray of shape (n_factors, n_factors)
        Correlations between a group's factors: the identity unless the
        rotation is oblique.

    uniquenesses_ : dict of str to ndarray of shape (n_group_columns,)
        Variance of each standardised column that the factors do not explain.

    variance_explained_ : dict of str to ndarray of shape (n_factors,)
        Sum of squared loadings of each factor divided by the number of columns
        in the group: the share of the group's variance it explains (for
        oblique rotations the shares overlap and do not add up).

    adequacy_ : dict of str to dict or None
        Per group, ``{"kmo": float, "bartlett_chi2": float, "bartlett_p":
        float}``: the overall Kaiser-Meyer-Olkin measure (in [0, 1], NaN when
        undefined) and Bartlett's test of sphericity, computed by the optional
        package factor_analyzer; None when it is not installed.

    mean_ : ndarray of shape (`n_features_in_`,)
        Training mean of each input column.

    scale_ : ndarray of shape (`n_features_in_`,)
        Training standard deviation of each input column (1 for constants).

    score_weights_ : dict of str to ndarray of shape (n_group_columns, n_factors)
        Regression weights mapping standardised columns to raw factor scores.

    score_mean_ : dict of str to ndarray of shape (n_factors,)
        Training mean of the raw factor scores.

    score_scale_ : dict of str to ndarray of shape (n_factors,)
        Training standard deviation of the raw factor scores.

    n_features_in_ : int
        Number of columns seen during `fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names seen during `fit`, when X had string column names.

    See Also
    --------
    sklearn.decomposition.FactorAnalysis : Factor analysis of all columns at once.
    sklearn.compose.ColumnTransformer : Any transformer per column group.

    Notes
    -----
    Regression scores use the model-implied covariance ``L L' + diag(u)`` of
    the standardised columns, which stays invertible when a group has fewer
    rows than columns.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_hiss import FactorReducer
    >>> rng = np.random.default_rng(0)
    >>> latent = rng.normal(size=(200, 2))
    >>> X = np.repeat(latent, 3, axis=1) + 0.5 * rng.normal(size=(200, 6))
    >>> reducer = FactorReducer(groups={"a": [0, 1, 2], "b": [3, 4, 5]})
    >>> scores = reducer.fit_transform(X)
    >>> reducer.n_factors_
    {'a': 1, 'b': 1}
    >>> reducer.get_feature_names_out().tolist()
    ['a_f1', 'b_f1']
    >>> bool(np.allclose(scores.std(axis=0), 1.0))
    True
    """

    def __init__(
        self,
        groups=None,
        n_factors=None,
        variance_threshold=0.6,
        rotation="varimax",
        keep_inputs=False,
    ):
        self.groups = groups
        self.n_factors = n_factors
        self.variance_threshold = variance_threshold
        self.rotation = rotation
        self.keep_inputs = keep_inputs

    def fit(self, X, y=None):
        """Fit one rotated factor model per column group.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; no missing or infinite values.

        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : FactorReducer
            The fitted transformer.
        """
        check_numeric_features(X, "FactorReducer")
        X = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
        rotation = self._check_rotation()
        self._check_threshold()
        if not isinstance(self.keep_inputs, bool | np.bool_):
            raise TypeError(
                f"keep_inputs must be True or False; got {self.keep_inputs!r}."
            )
        groups = self._resolve_groups(X.shape[1])
        requested = self._requested_factors(groups)

        mean, scale, constant = _column_moments(X)
        Z = (X - mean) / scale
        groups, dropped = self._drop_constant(groups, constant)
        models = {}
        for name, columns in groups.items():
            models[name] = self._fit_group(
                name, Z[:, columns], requested[name], rotation
            )

        self.mean_, self.scale_ = mean, scale
        self.groups_, self.constant_columns_ = groups, dropped
        for attribute in next(iter(models.values())):
            setattr(self, attribute, {g: m[attribute] for g, m in models.items()})
        self.adequacy_ = self._adequacy(Z, groups)
        self._check_unique_names()
        return self

    def transform(self, X):
        """Return each group's standardised factor scores, groups side by side.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with the columns seen in `fit`.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_features_out)
            Factor scores, then (with ``keep_inputs=True``) the standardised
            input columns; named by :meth:`get_feature_names_out`.
        """
        check_is_fitted(self)
        check_numeric_features(X, "FactorReducer")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        Z = (X - self.mean_) / self.scale_
        blocks = [
            (Z[:, columns] @ self.score_weights_[name] - self.score_mean_[name])
            / self.score_scale_[name]
            for name, columns in self.groups_.items()
        ]
        blocks += [Z[:, columns] for columns in self._kept_inputs().values()]
        return np.hstack(blocks)

    def get_feature_names_out(self, input_features=None):
        """Output names: ``<group>_f1``, ``<group>_f2``, ..., then kept inputs.

        Kept input columns (``keep_inputs=True``) are named
        ``<group>__<column name>`` (``<group>__x<position>`` without names).

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Names of the input columns, checked against the input seen in
            `fit` (its names when X had names, otherwise its number of
            columns); they name the kept inputs. None uses the names seen in
            `fit`, or ``x<position>``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            One name per output column, numbered from 1 within each group.
        """
        check_is_fitted(self)
        self._check_input_features(input_features)
        names = [
            f"{group}_f{index}"
            for group, count in self.n_factors_.items()
            for index in range(1, count + 1)
        ]
        inputs = input_features
        if inputs is None:
            inputs = getattr(self, "feature_names_in_", None)
        names += [
            f"{group}__{inputs[p] if inputs is not None else f'x{p}'}"
            for group, columns in self._kept_inputs().items()
            for p in columns
        ]
        return np.asarray(names, dtype=object)

    def _kept_inputs(self):
        """Group -> positions of the inputs output beside the scores.

        Empty without ``keep_inputs``; a one-column group's column is its
        score already, so it is not repeated.
        """
        if not self.keep_inputs:
            return {}
        return {g: c for g, c in self.groups_.items() if len(c) > 1}

    def _check_unique_names(self):
        names = self.get_feature_names_out()
        unique, counts = np.unique(names.astype(str), return_counts=True)
        if (counts > 1).any():
            raise ValueError(
                f"FactorReducer would output the names {unique[counts > 1].tolist()} "
                "twice: a factor score's name (<group>_f<k>) equals a kept input's "
                "(<group>__<column>). Rename a group or a column."
            )

    def _check_input_features(self, input_features):
        if input_features is None:
            return
        input_features = np.asarray(input_features, dtype=object)
        names = getattr(self, "feature_names_in_", None)
        if names is not None and not np.array_equal(names, input_features):
            raise ValueError(
                "input_features is not equal to feature_names_in_: got "
                f"{input_features.tolist()}, expected {names.tolist()}. Pass the "
                "column names seen in fit, or None."
            )
        if len(input_features) != self.n_features_in_:
            raise ValueError(
                "input_features should have length equal to the number of "
                f"features seen in fit ({self.n_features_in_}), got "
                f"{len(input_features)}. Pass one name per input column, or None."
            )

    def _check_rotation(self):
        if self.rotation is None:
            return None
        if not isinstance(self.rotation, str):
            raise TypeError(
                f"rotation must be a string or None, got {self.rotation!r} of type "
                f"{type(self.rotation).__name__}. Use one of {list(_ROTATIONS)}."
            )
        rotation = self.rotation.lower()
        if rotation not in _ROTATIONS:
            raise ValueError(
                f"rotation={self.rotation!r} is not a known rotation. Use None or "
                f"one of {list(_ROTATIONS)}."
            )
        if rotation != "varimax":
            try:
                _import_factor_analyzer()
            except ImportError as error:
                message = _MISSING_EXTRA.format(rotation=self.rotation)
                raise ImportError(message) from error
        return rotation

    def _check_threshold(self):
        threshold = self.variance_threshold
        valid = isinstance(threshold, Real) and not isinstance(threshold, bool)
        if not valid or not 0 < threshold <= 1:
            raise ValueError(
                "variance_threshold must be a number in (0, 1], the share of each "
                f"group's variance the factors should reach; got {threshold!r}. "
                "Use, for example, variance_threshold=0.6."
            )

    def _resolve_groups(self, n_features):
        """Map each group name to the positions of its columns."""
        if self.groups is None:
            return {_DEFAULT_GROUP: np.arange(n_features)}
        if not isinstance(self.groups, Mapping) or not self.groups:
            raise TypeError(
                "groups must be a non-empty dict mapping group names to lists of "
                f"columns, or None; got {self.groups!r}. Use, for example, "
                "groups={'profile': ['age', 'seats'], 'usage': ['flights']}."
            )
        resolved, owners = {}, {}
        for name, columns in self.groups.items():
            positions = self._group_positions(name, columns, n_features)
            for position in positions:
                self._claim(owners, position, name)
            resolved[name] = np.asarray(positions, dtype=np.intp)
        return resolved

    def _group_positions(self, name, columns, n_features):
        if not isinstance(name, str) or not name:
            raise TypeError(
                f"groups keys must be non-empty strings, got {name!r}. Group "
                "names prefix the output names, as in 'profile_f1'."
            )
        if not isinstance(columns, str) and np.iterable(columns):
            columns = list(columns)
        if isinstance(columns, str) or not np.iterable(columns) or not columns:
            raise ValueError(
                f"groups[{name!r}] must be a non-empty list of column names or "
                f"positions, got {columns!r}. Wrap a single column in a list."
            )
        names = getattr(self, "feature_names_in_", [])
        lookup = {column: position for position, column in enumerate(names)}
        positions = [self._position(name, c, lookup, n_features) for c in columns]
        unknown = [c for c, p in zip(columns, positions) if p is None]
        if unknown:
            self._raise_unknown(name, unknown, n_features)
        return positions

    def _position(self, name, column, lookup, n_features):
        """Position of one group entry, or None when X has no such column."""
        if isinstance(column, Integral) and not isinstance(column, bool):
            return int(column) if 0 <= column < n_features else None
        if isinstance(column, str):
            return lookup.get(column)
        raise TypeError(
            f"groups[{name!r}] holds {column!r} of type {type(column).__name__}; "
            "columns are named by strings (DataFrame input) or integer positions."
        )

    def _raise_unknown(self, name, unknown, n_features):
        if not hasattr(self, "feature_names_in_") and any(
            isinstance(c, str) for c in unknown
        ):
            raise ValueError(
                f"groups[{name!r}] names columns {unknown} but X has no column "
                "names (it is not a DataFrame with string column names). Fit on "
                "such a DataFrame, or give integer positions."
            )
        raise ValueError(
            f"groups[{name!r}] refers to columns that X does not have: {unknown}. "
            f"X has {n_features} columns; give their names (DataFrame input) or "
            f"positions from 0 to {n_features - 1}."
        )

    def _claim(self, owners, position, name):
        if position in owners:
            raise ValueError(
                f"Column {self._label(position)} is listed in group "
                f"{owners[position]!r} and again in group {name!r}. Put each "
                "column in exactly one group."
            )
        owners[position] = name

    def _label(self, position):
        names = getattr(self, "feature_names_in_", None)
        return repr(names[position]) if names is not None else str(position)

    def _requested_factors(self, groups):
        """Requested factor count per group; None means choose by threshold."""
        spec = self.n_factors
        if isinstance(spec, Mapping):
            unknown = [key for key in spec if key not in groups]
            if unknown:
                raise ValueError(
                    f"n_factors names groups {unknown} that are not in groups "
                    f"({list(groups)}). Use the group names as keys."
                )
            requested = {name: spec.get(name) for name in groups}
        else:
            requested = dict.fromkeys(groups, spec)
        for name, count in requested.items():
            if count is not None and not _is_positive_int(count):
                raise ValueError(
                    f"n_factors for group {name!r} must be a positive integer or "
                    f"None (choose by variance_threshold), got {count!r}."
                )
        return requested

    def _drop_constant(self, groups, constant):
        """Leave constant columns out of each group, warning about each group."""
        kept, dropped = {}, {}
        for name, columns in groups.items():
            kept[name] = columns[~constant[columns]]
            dropped[name] = columns[constant[columns]]
            if not len(kept[name]):
                raise ValueError(
                    f"Every column of group {name!r} is constant on the training "
                    "rows, so it has no factors. Remove the group or its columns."
                )
            if len(dropped[name]):
                labels = ", ".join(self._label(p) for p in dropped[name])
                warnings.warn(
                    f"Group {name!r}: constant training columns [{labels}] were "
                    "dropped from its factor model (and from the kept inputs). "
                    "Remove them from the group to silence this warning.",
                    FactorAnalysisWarning,
                    stacklevel=3,
                )
        return kept, dropped

    def _fit_group(self, name, Z, requested, rotation):
        """Fit, rotate and score one group's standardised columns `Z`."""
        eigenvalues, count = self._choose_count(name, Z, requested)
        unrotated, uniquenesses = self._factor_model(name, Z, count)
        unrotated = self._identified_factors(name, unrotated)
        loadings, phi = self._rotate(name, unrotated, rotation)
        loadings, phi = _orient(loadings, phi)
        weights = _regression_weights(unrotated, loadings, phi, uniquenesses)
        scores = Z @ weights
        score_scale = scores.std(axis=0)
        score_scale[score_scale == 0] = 1.0
        return {
            "n_factors_": unrotated.shape[1],
            "eigenvalues_": eigenvalues,
            "loadings_": loadings,
            "factor_correlations_": phi,
            "uniquenesses_": uniquenesses,
            "variance_explained_": np.sum(loadings**2, axis=0) / Z.shape[1],
            "score_weights_": weights,
            "score_mean_": scores.mean(axis=0),
            "score_scale_": score_scale,
        }

    def _identified_factors(self, name, unrotated):
        """Drop factors without loadings, which the group's columns do not identify.

        Maximum likelihood leaves such a factor at exactly zero (two
        uncorrelated columns identify no second factor); its scores would be
        0 for every row.
        """
        alive = np.sqrt(np.sum(unrotated**2, axis=0)) > _DEAD_LOADING_NORM
        if alive.all():
            return unrotated
        if not alive.any():
            raise ValueError(
                f"Factor analysis of group {name!r} finds no common factor: its "
                f"{unrotated.shape[0]} columns are uncorrelated on the training "
                "rows. Split the group (a one-column group passes through "
                "standardised) or leave it out of groups."
            )
        kept = int(alive.sum())
        warnings.warn(
            f"Group {name!r}: its columns identify only {kept} of the "
            f"{len(alive)} factors asked for; the other {len(alive) - kept} "
            "had no loadings (every score 0) and were dropped. Set n_factors="
            f"{{{name!r}: {kept}}} to silence this warning.",
            FactorAnalysisWarning,
            stacklevel=4,
        )
        return unrotated[:, alive]

    def _choose_count(self, name, Z, requested):
        """Correlation eigenvalues of `Z` and the number of factors to fit."""
        n_samples, n_columns = Z.shape
        if n_samples < n_columns:
            warnings.warn(
                f"Group {name!r} has {n_columns} columns but only {n_samples} "
                "training rows; its factor model is ill-posed. Use more rows or "
                "fewer columns.",
                FactorAnalysisWarning,
                stacklevel=4,
            )
        eigenvalues = np.linalg.eigvalsh(Z.T @ Z / n_samples)[::-1]
        chosen = _smallest_count_reaching(eigenvalues, self.variance_threshold)
        count = requested or min(chosen, n_samples - 1)
        self._check_count(name, count, n_samples, n_columns)
        return eigenvalues, count

    def _check_count(self, name, count, n_samples, n_columns):
        if count > n_columns:
            raise ValueError(
                f"n_factors asks for {count} factors in group {name!r}, which has "
                f"only {n_columns} non-constant columns. Ask for at most "
                f"{n_columns} factors in this group."
            )
        if count >= n_samples:
            raise ValueError(
                f"n_factors asks for {count} factors in group {name!r}, but there "
                f"are only {n_samples} training rows. Ask for at most "
                f"{n_samples - 1} factors, or use more rows."
            )

    def _factor_model(self, name, Z, count):
        """Unrotated ML loadings (n_columns, count) and uniquenesses of `Z`.

        One column is its own factor (loading 1, uniqueness 0): maximum
        likelihood would leave its single factor without loadings.
        """
        if Z.shape[1] == 1:
            return np.ones((1, 1)), np.zeros(1)
        model = FactorAnalysis(n_components=count, svd_method="lapack")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            model.fit(Z)
        for warning in caught:
            if issubclass(warning.category, ConvergenceWarning):
                message = (
                    f"Factor analysis of group {name!r} did not converge; its "
                    "loadings may be inaccurate. Ask for fewer factors or remove "
                    "nearly duplicate columns from the group."
                )
                warnings.warn(message, ConvergenceWarning, stacklevel=4)
            else:
                warnings.warn(warning.message, warning.category, stacklevel=4)
        return model.components_.T, model.noise_variance_

    def _rotate(self, name, loadings, rotation):
        """Rotated loadings and factor correlations (identity when orthogonal)."""
        n_factors = loadings.shape[1]
        if rotation is None or n_factors == 1:
            return loadings, np.eye(n_factors)
        if rotation == "varimax":
            rotated, _, converged = _varimax(loadings)
            if not converged:
                warnings.warn(
                    f"Varimax rotation of group {name!r} did not converge; its "
                    "loadings may be only nearly simple. Ask for fewer factors "
                    "in this group.",
                    ConvergenceWarning,
                    stacklevel=4,
                )
            return rotated, np.eye(n_factors)
        rotator = _import_factor_analyzer()[0](method=rotation)
        rotated = rotator.fit_transform(loadings)
        phi = rotator.phi_ if rotator.phi_ is not None else np.eye(n_factors)
        return rotated, np.asarray(phi)

    def _adequacy(self, Z, groups):
        """KMO and Bartlett's sphericity per group, or None without the extra."""
        try:
            _, kmo, bartlett = _import_factor_analyzer()
        except ImportError:
            return None
        results = {}
        for name, columns in groups.items():
            results[name] = dict.fromkeys(
                ("kmo", "bartlett_chi2", "bartlett_p"), np.nan
            )
            if len(columns) < 2:
                continue  # both measures need correlations between columns
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                results[name]["kmo"] = float(kmo(Z[:, columns])[1])
                chi2, p_value = bartlett(Z[:, columns])
            results[name].update(bartlett_chi2=float(chi2), bartlett_p=float(p_value))
        return results
