"""Property-based tests: random shapes, hierarchies, label types and missing rates.

Whatever the draw, an estimator either fits and keeps its output contract
(probabilities in [0, 1] summing to 1, documented shapes, predictions among
the classes) or raises one of the documented ValueErrors.
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sklearn_hiss import FactorReducer, HiSSClassifier, SOMPseudoLabeler
from sklearn_hiss.metrics import per_task_scorers

SETTINGS = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
MISSING = {"nan": np.nan, "none": None, "pandas_na": pd.NA, "sentinel": -1}
LABELS = {
    "int": lambda codes: codes,
    "bool": lambda codes: codes.astype(bool),
    "str": lambda codes: np.array(["no", "yes"])[codes],
    "multi": lambda codes: codes,  # drawn from three classes below
}
INDICATORS = {"int": [0, 1], "bool": [False, True]}
# The only errors a well-typed but unlucky draw may raise, with their messages.
DOCUMENTED_ERRORS = re.compile(
    "has no labeled entry|at least 2 samples|leaves no validation"
    "|Give more rows or lower n_networks"
)


def label_column(rng, kind, n, missing_rate, marker):
    codes = rng.integers(0, 3 if kind == "multi" else 2, size=n)
    column = pd.Series(LABELS[kind](codes), dtype=object)
    column[rng.random(n) < missing_rate] = MISSING[marker]
    return column


@st.composite
def problems(draw):
    n_rows = draw(st.integers(2, 40))
    n_subtasks = draw(st.integers(1, 4))
    kinds = draw(st.lists(st.sampled_from(sorted(LABELS)), min_size=n_subtasks))
    kinds = kinds[:n_subtasks] + ["int"] * (n_subtasks - len(kinds))
    main_tasks = draw(
        st.lists(st.sampled_from("ab"), min_size=n_subtasks, max_size=n_subtasks)
    )
    missing_rate = draw(st.sampled_from([0.0, 0.3, 0.7, 1.0]))
    marker = draw(st.sampled_from(sorted(MISSING)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    scale = draw(st.sampled_from([1e-6, 1.0, 1e6]))
    X = rng.normal(size=(n_rows, draw(st.integers(1, 5)))) * scale
    Y = pd.DataFrame(
        {
            f"y{t}": label_column(rng, kind, n_rows, missing_rate, marker)
            for t, kind in enumerate(kinds)
        }
    )
    return X, Y, main_tasks, kinds


estimator_settings = st.fixed_dictionaries(
    {
        "pseudo_labels": st.sampled_from(
            [None, SOMPseudoLabeler(n_clusters=4, n_iterations=100)]
        ),
        "early_stopping": st.booleans(),
        "decision_threshold": st.sampled_from([0.5, "f1"]),
        "class_weight": st.sampled_from([None, "balanced"]),
        "batch_size": st.integers(1, 64),
        "n_networks": st.integers(1, 3),
        "scoring": st.sampled_from(["roc_auc", "loss"]),
    }
)


def tiny_classifier(tasks, **params):
    return HiSSClassifier(
        tasks=tasks,
        shared_units=(4,),
        local_units=(4,),
        task_units=(),
        max_epochs=2,
        random_state=0,
        **params,
    )


def fit_or_documented_error(estimator, X, y):
    """Fit quietly; return None when the draw hits a documented ValueError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return estimator.fit(X, y)
        except ValueError as error:
            assert DOCUMENTED_ERRORS.search(str(error)), str(error)
            return None


def assert_probability_rows(proba, n_rows, n_classes):
    assert proba.shape == (n_rows, n_classes)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-9)


@SETTINGS
@given(problem=problems(), params=estimator_settings)
def test_multi_task_outputs_keep_their_contract(problem, params):
    X, Y, main_tasks, kinds = problem
    clf = fit_or_documented_error(tiny_classifier(main_tasks, **params), X, Y)
    if clf is None:
        return
    X_new = X[: min(len(X), 5)]
    probas = clf.predict_proba(X_new)
    assert len(probas) == len(clf.classes_) == Y.shape[1]
    for proba, classes, kind in zip(probas, clf.classes_, kinds):
        assert_probability_rows(proba, len(X_new), len(classes))
        assert not pd.isna(classes).any() and -1 not in list(classes)
        if kind in INDICATORS:  # two columns even when a class is absent
            assert list(classes) == INDICATORS[kind]
    predictions = clf.predict(X_new)
    assert predictions.shape == (len(X_new), Y.shape[1])
    for column, classes in zip(predictions.T, clf.classes_):
        assert set(column) <= set(classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = clf.score(X, Y)
        scores = [scorer(clf, X, Y) for scorer in per_task_scorers().values()]
    assert np.isnan(score) or 0 <= score <= 1
    assert all(np.isnan(s) or 0 <= s <= 1 for s in scores)


@SETTINGS
@given(problem=problems(), params=estimator_settings)
def test_a_single_target_is_an_ordinary_classifier(problem, params):
    X, Y, _, kinds = problem
    y = Y.iloc[:, 0]
    clf = fit_or_documented_error(tiny_classifier(None, **params), X, y)
    if clf is None:
        return
    proba = clf.predict_proba(X)
    assert_probability_rows(proba, len(X), len(clf.classes_))
    if kinds[0] in INDICATORS:
        assert list(clf.classes_) == INDICATORS[kinds[0]]
    assert clf.predict(X).shape == (len(X),)
    assert set(clf.predict(X)) <= set(clf.classes_)


@SETTINGS
@given(problem=problems(), exponent=st.integers(-600, 600))
def test_the_unit_of_the_features_does_not_matter(problem, exponent):
    X, Y, main_tasks, _ = problem
    # A power of two rescales exactly, so the standardised inputs are equal.
    # Two networks (defaults otherwise): the folds, the early stopping and the
    # tuned thresholds must not depend on the unit either.
    fits = [
        fit_or_documented_error(tiny_classifier(main_tasks, n_networks=2), features, Y)
        for features in (X, X * 2.0**exponent)
    ]
    if fits[0] is None:
        return
    scaled = fits[1].predict_proba(X * 2.0**exponent)
    for p, q in zip(fits[0].predict_proba(X), scaled):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_array_equal(fits[0].thresholds_, fits[1].thresholds_)


@st.composite
def feature_tables(draw):
    n_rows = draw(st.integers(2, 40))
    n_columns = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    X = rng.normal(size=(n_rows, n_columns)) * draw(st.sampled_from([1e-6, 1, 1e6]))
    if draw(st.booleans()):
        X[:, rng.integers(n_columns)] = 3.0  # a constant column
    if draw(st.booleans()) and n_columns > 1:
        X[:, 0] = X[:, -1]  # a duplicated column
    return X


@SETTINGS
@given(X=feature_tables())
def test_factor_scores_are_finite_with_the_documented_shape(X):
    reducer = FactorReducer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            scores = reducer.fit_transform(X)
        except ValueError as error:
            assert "Every column of group 'x' is constant" in str(error)
            return
    assert scores.shape == (len(X), sum(reducer.n_factors_.values()))
    assert np.isfinite(scores).all()


@SETTINGS
@given(X=feature_tables(), n_clusters=st.integers(1, 6))
def test_som_labels_are_cells_of_its_grid(X, n_clusters):
    som = SOMPseudoLabeler(n_clusters=n_clusters, n_iterations=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = som.fit(X).transform(X)
    assert out.shape == (len(X), X.shape[1] + 1)
    assert set(out[:, -1]) <= set(range(som.n_clusters_))
    np.testing.assert_array_equal(out[:, -1], som.labels_)


@pytest.mark.parametrize(
    "y, params",
    [
        ([np.nan, np.nan, np.nan], {"n_networks": 1}),
        ([0, 1, 0], {"n_networks": 2}),
        ([0, 1, 0], {"n_networks": 1, "early_stopping": True}),
    ],
)
def test_the_documented_errors_are_the_ones_raised(y, params):
    X = np.random.default_rng(0).normal(size=(3, 2))
    with pytest.raises(ValueError, match=DOCUMENTED_ERRORS):
        tiny_classifier(None, pseudo_labels=None, **params).fit(X, y)
