"""Tests of the paper's figures: the data they draw, the axes they use, their errors."""

import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.multioutput import MultiOutputClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_hiss import FactorReducer, HiSSClassifier, SOMPseudoLabeler
from sklearn_hiss.datasets import make_hierarchical_classification
from sklearn_hiss.plotting import (
    plot_cluster_profiles,
    plot_factor_clusters,
    plot_monthly_event_rate,
)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TASKS = {"month": [0, 1, 2, 3], "hour": [4, 5]}


@pytest.fixture(scope="module")
def data():
    X, Y = make_hierarchical_classification(
        n_samples=240, n_features=8, tasks=(4, 2), random_state=0
    )
    return np.asarray(X), np.asarray(Y)


GROUPS = {"a": [0, 1, 2, 3], "b": [4, 5, 6, 7]}


def fitted_pipeline(X, Y, keep_inputs=False, **hiss_params):
    """FactorReducer -> SOM -> HiSSClassifier, trained 3 epochs."""
    return Pipeline(
        [
            ("factors", FactorReducer(groups=GROUPS, keep_inputs=keep_inputs)),
            ("clusters", SOMPseudoLabeler(n_clusters=4, random_state=0)),
            (
                "hiss",
                HiSSClassifier(
                    tasks=TASKS,
                    pseudo_labels="passthrough",
                    max_epochs=3,
                    random_state=0,
                    **hiss_params,
                ),
            ),
        ]
    ).fit(X, Y)


@pytest.fixture(scope="module")
def pipeline(data):
    return fitted_pipeline(*data, early_stopping=False, n_networks=1)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _indicators_and_clusters(pipeline, X):
    scores = pipeline[:1].transform(X)
    return scores, pipeline[1].predict(scores)


def test_missing_matplotlib_names_the_extra(pipeline, data, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"sklearn-hiss\[plots\]"):
        plot_cluster_profiles(pipeline, data[0])


def test_factor_clusters_draws_one_group_per_cluster(pipeline, data):
    X = data[0]
    scores, clusters = _indicators_and_clusters(pipeline, X)
    names = list(pipeline[0].get_feature_names_out())
    ax = plot_factor_clusters(pipeline, X, factors=(names[1], 0))

    assert len(ax.collections) == len(np.unique(clusters))
    drawn = np.vstack([c.get_offsets() for c in ax.collections])
    expected = np.vstack(
        [scores[clusters == k][:, [1, 0]] for k in np.unique(clusters)]
    )
    np.testing.assert_allclose(drawn, expected)
    assert (ax.get_xlabel(), ax.get_ylabel()) == (names[1], names[0])


def test_factor_clusters_default_plane_is_principal(pipeline, data):
    scores, _ = _indicators_and_clusters(pipeline, data[0])
    assert scores.shape[1] > 2  # two factors would be drawn as they are
    ax = plot_factor_clusters(pipeline, data[0])
    drawn = np.vstack([c.get_offsets() for c in ax.collections])
    # Principal components are uncorrelated and the first carries most variance.
    corr = np.corrcoef(drawn.T)[0, 1]
    assert abs(corr) < 1e-8
    assert drawn[:, 0].var() >= drawn[:, 1].var()
    assert ax.get_xlabel().startswith("component 1")


def test_plots_draw_on_the_given_axes(pipeline, data):
    _, axes = plt.subplots(1, 3)
    X, Y = data
    assert plot_factor_clusters(pipeline, X, ax=axes[0]) is axes[0]
    assert plot_cluster_profiles(pipeline, X, ax=axes[1]) is axes[1]
    assert plot_monthly_event_rate(pipeline, X, Y=Y, ax=axes[2]) is axes[2]


def test_cluster_profiles_are_the_cluster_means(pipeline, data):
    X = data[0]
    scores, clusters = _indicators_and_clusters(pipeline, X)
    ax = plot_cluster_profiles(pipeline, X)

    expected = pd.DataFrame(scores).groupby(clusters).mean().to_numpy()
    np.testing.assert_allclose(ax.images[0].get_array(), expected)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == list(pipeline[0].get_feature_names_out())


def test_event_rate_lines_are_mean_probabilities(pipeline, data):
    X, Y = data
    _, clusters = _indicators_and_clusters(pipeline, X)
    probas = np.column_stack([p[:, 1] for p in pipeline.predict_proba(X)[:4]])
    ax = plot_monthly_event_rate(pipeline, X, Y=Y)

    lines = ax.get_lines()
    assert len(lines) == len(np.unique(clusters)) + 1
    for line, k in zip(lines, np.unique(clusters)):
        np.testing.assert_allclose(line.get_ydata(), probas[clusters == k].mean(0))
    np.testing.assert_allclose(lines[-1].get_ydata(), Y[:, :4].mean(axis=0))
    assert "month" in ax.get_title()


def test_event_rate_of_another_main_task(pipeline, data):
    ax = plot_monthly_event_rate(pipeline, data[0], main_task="hour")
    assert len(ax.get_lines()[0].get_ydata()) == len(TASKS["hour"])


def test_observed_rate_ignores_unlabeled_entries(pipeline, data):
    X, Y = data
    Y = Y.astype(float)
    Y[:10, 0] = -1
    Y[10:20, 1] = np.nan
    ax = plot_monthly_event_rate(pipeline, X, Y=Y)
    observed = ax.get_lines()[-1].get_ydata()
    assert observed[0] == pytest.approx(Y[10:, 0].mean())
    assert observed[1] == pytest.approx(np.r_[Y[:10, 1], Y[20:, 1]].mean())


def test_unknown_main_task_is_named(pipeline, data):
    with pytest.raises(ValueError, match="main_task='week'.*'month', 'hour'"):
        plot_monthly_event_rate(pipeline, data[0], main_task="week")


@pytest.mark.parametrize(
    "factors, message",
    [
        (("nope", 0), "'nope', which is not an indicator"),
        ((0, 99), "positions below"),
        ((0,), "a pair"),
        ("a_f1", "a pair"),
    ],
)
def test_bad_factors_are_explained(pipeline, data, factors, message):
    with pytest.raises(ValueError, match=message):
        plot_factor_clusters(pipeline, data[0], factors=factors)


def test_non_pipeline_is_a_type_error(pipeline, data):
    with pytest.raises(TypeError, match="got HiSSClassifier"):
        plot_cluster_profiles(pipeline[-1], data[0])


def test_pipeline_without_som_is_explained(data):
    X, Y = data
    pipe = make_pipeline(
        StandardScaler(), MultiOutputClassifier(LogisticRegression())
    ).fit(X, Y)
    with pytest.raises(ValueError, match="no SOMPseudoLabeler step"):
        plot_factor_clusters(pipe, X)


def test_event_rate_needs_a_hiss_classifier(data):
    X = data[0]
    pipe = make_pipeline(SOMPseudoLabeler(n_clusters=4, random_state=0)).fit(X)
    with pytest.raises(ValueError, match="fitted HiSSClassifier as the last step"):
        plot_monthly_event_rate(pipe, X)
    # Figures 3 and 4 only need the SOM: the raw columns are the indicators.
    ax = plot_cluster_profiles(pipe, X)
    assert ax.images[0].get_array().shape[1] == X.shape[1]


def test_one_indicator_cannot_make_a_plane():
    X = np.random.default_rng(0).normal(size=(60, 3))
    pipe = make_pipeline(
        FactorReducer(n_factors=1), SOMPseudoLabeler(n_clusters=4, random_state=0)
    ).fit(X)
    with pytest.raises(ValueError, match="at least two indicators"):
        plot_factor_clusters(pipe, X)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_figures_of_the_recommended_pipeline(data):
    """Factors beside their kept inputs, and the default (averaged) networks."""
    X, Y = data
    groups = GROUPS
    pipe = fitted_pipeline(X, Y, keep_inputs=True)
    scores, clusters = _indicators_and_clusters(pipe, X)
    n_factors = sum(pipe[0].n_factors_.values())

    profiles = plot_cluster_profiles(pipe, X)
    ticks = [t.get_text() for t in profiles.get_xticklabels()]
    assert ticks[n_factors:] == [
        f"{g}__x{p}" for g, cols in groups.items() for p in cols
    ]
    expected = pd.DataFrame(scores).groupby(clusters).mean().to_numpy()
    np.testing.assert_allclose(profiles.images[0].get_array(), expected)

    ax = plot_factor_clusters(pipe, X, factors=("a_f1", "b__x5"))
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("a_f1", "b__x5")

    assert len(pipe[-1].networks_) == 5
    probas = np.column_stack([p[:, 1] for p in pipe.predict_proba(X)[:4]])
    lines = plot_monthly_event_rate(pipe, X).get_lines()
    for line, k in zip(lines, np.unique(clusters)):
        np.testing.assert_allclose(line.get_ydata(), probas[clusters == k].mean(0))
