"""Faults a new user ran into, each fixed as a kind: a clear message or a right model.

One section per kind of fault: labels and the unlabeled marker, the task
hierarchy, features, settings checked before fitting, the factor step, the SOM,
model files, and the demo with its documentation.
"""

import re
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _settings import TINY
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import KFold, cross_val_predict, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from sklearn_hiss import (
    FactorAnalysisWarning,
    FactorReducer,
    HiSSClassifier,
    SOMPseudoLabeler,
)
from sklearn_hiss import _demo as demo
from sklearn_hiss.__main__ import main
from sklearn_hiss._hierarchy import resolve_hierarchy
from sklearn_hiss._persistence import load_model, save_model
from sklearn_hiss._targets import complete_binary_classes
from sklearn_hiss.datasets import make_hierarchical_classification

ROOT = Path(__file__).resolve().parents[1]
FAST_SOM = SOMPseudoLabeler(n_clusters=4, n_iterations=100)


def tiny(**params):
    return HiSSClassifier(**{**TINY, **params})


@pytest.fixture(scope="module")
def frames():
    X, Y = make_hierarchical_classification(
        n_samples=80, n_features=4, tasks=(2, 2), random_state=0
    )
    X = pd.DataFrame(X, columns=list("abcd"))
    Y = pd.DataFrame(Y, columns=["q0", "q1", "q2", "q3"])
    return X, Y


# ------------------------------------------------- labels and the unlabeled marker


SINGLE_CLASS = "ignore:Y column .* has a single class"


def plus_minus_one(X):
    return np.where(X["a"] + X["b"] > 0, 1, -1)


@pytest.mark.filterwarnings(SINGLE_CLASS)
@pytest.mark.parametrize("as_frame", [False, True])
def test_labels_coded_plus_minus_one_warn_and_invent_no_class(frames, as_frame):
    X, _ = frames
    y = plus_minus_one(X)
    y, name = (pd.DataFrame({"x": y}), "'x'") if as_frame else (y, "0")
    with pytest.warns(UserWarning, match=f"column {name}: every labeled entry is 1"):
        clf = tiny().fit(X, y)
    classes = clf.classes_[0] if as_frame else clf.classes_
    assert list(classes) == [1]  # no class 0 made up beside the lone 1


@pytest.mark.filterwarnings(SINGLE_CLASS)
def test_the_warning_names_the_fix_and_the_fix_works(frames):
    X, _ = frames
    y = plus_minus_one(X)
    with pytest.warns(UserWarning, match=r"treated as unlabeled.*pass unlabeled=None"):
        tiny().fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = tiny(unlabeled=None, max_epochs=10).fit(X, y)
    assert list(clf.classes_) == [-1, 1]
    assert clf.predict_proba(X).shape == (len(X), 2)


@pytest.mark.filterwarnings(SINGLE_CLASS)
def test_a_zero_one_column_with_holes_and_only_zeros_stays_binary(frames):
    X, Y = frames
    Y = Y.copy()
    Y["q1"] = np.where(np.arange(len(Y)) % 3 == 0, -1, 0)
    with pytest.warns(UserWarning, match="'q1': every labeled entry is 0"):
        clf = tiny().fit(X, Y)
    assert list(clf.classes_[1]) == [0, 1]
    assert clf.predict_proba(X)[1].shape == (len(X), 2)


@pytest.mark.parametrize(
    "lone, sentinel_seen, expected",
    [
        ([1], True, [1]),
        ([1], False, [0, 1]),
        ([0], True, [0, 1]),
        ([True], True, [True]),
    ],
)
def test_lone_classes_are_completed_only_when_plausible(lone, sentinel_seen, expected):
    completed = complete_binary_classes(np.array(lone), sentinel_seen)
    assert completed.tolist() == expected


def test_nan_holes_with_one_class_give_no_marker_warning(frames):
    X, Y = frames
    Y = Y.astype(float)
    Y["q1"] = np.where(np.arange(len(Y)) % 3 == 0, np.nan, 1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = tiny().fit(X, Y)
    assert not [w for w in caught if "every labeled entry" in str(w.message)]
    assert list(clf.classes_[1]) == [0, 1]


# ---------------------------------------------------------------- the hierarchy


def test_names_lost_by_cross_val_predict_point_to_the_way_out(frames):
    X, Y = frames
    clf = tiny(tasks={"A": ["q0", "q1"], "B": ["q2", "q3"]})
    with pytest.raises(ValueError, match=r"cross_val_predict.*counts.*KFold split"):
        cross_val_predict(clf, X, Y, cv=KFold(2), method="predict_proba")


def test_a_name_missing_from_a_named_y_gets_no_cross_val_predict_hint():
    with pytest.raises(ValueError, match=r"names 'zz'.*Give Y column names") as info:
        resolve_hierarchy({"A": ["q0", "zz"]}, ["q0", "q1"])
    assert "cross_val_predict" not in str(info.value)


def test_an_empty_main_task_is_refused_like_a_zero_count():
    with pytest.raises(ValueError, match=r"tasks\['B'\] is an empty list"):
        resolve_hierarchy({"A": ["q0", "q1"], "B": []}, ["q0", "q1"])
    with pytest.raises(ValueError, match="counts must be positive"):
        resolve_hierarchy({"A": 2, "B": 0}, ["q0", "q1"])


def test_positions_work_with_a_named_y(frames):
    X, Y = frames
    clf = tiny(tasks={"A": [0, 1], "B": [2, "q3"]}).fit(X, Y)
    assert clf.hierarchy_.groups() == {"A": ["q0", "q1"], "B": ["q2", "q3"]}


def test_integer_column_names_win_over_positions():
    hierarchy = resolve_hierarchy({"A": [10, 0], "B": [1]}, [10, 1, 0])
    assert hierarchy.groups() == {"A": [10, 0], "B": [1]}
    with pytest.raises(ValueError, match="names 5, which is not a column"):
        resolve_hierarchy({"A": [5]}, ["q0"])


# ------------------------------------------------------------------------ features


def fit_estimator(make, X, Y):
    return make().fit(X, Y) if make is tiny else make().fit(X)


ESTIMATORS = [tiny, FactorReducer, lambda: SOMPseudoLabeler(n_clusters=4)]


@pytest.mark.parametrize("make", ESTIMATORS)
def test_duplicated_feature_names_are_named(frames, make):
    X, Y = frames
    duplicated = X.set_axis(["a", "b", "a", "d"], axis=1)
    with pytest.raises(ValueError, match=r"duplicated column names \['a'\].*Rename"):
        fit_estimator(make, duplicated, Y)


@pytest.mark.parametrize("make", ESTIMATORS)
def test_numbers_stored_as_objects_point_to_astype(frames, make):
    X, Y = frames
    with pytest.raises(ValueError, match=r"\['a', 'b', 'c', 'd'\].*astype\("):
        fit_estimator(make, X.astype(object), Y)
    mixed = X.assign(city=np.where(X["a"] > 0, "x", "y"))
    with pytest.raises(ValueError, match=r"\['city'\].*OneHotEncoder"):
        fit_estimator(make, mixed, Y)


def test_a_continuous_label_column_shows_its_non_integral_values(frames):
    X, Y = frames
    Y = Y.astype(float).assign(q3=Y["q3"] * 0.5)
    with pytest.raises(
        ValueError, match=r"'q3' holds continuous values \(array\(\[0\.5\]"
    ):
        tiny().fit(X, Y)


def test_out_of_range_features_at_predict_are_named(frames):
    X, Y = frames
    clf = tiny().fit(X, Y)
    far = X.assign(c=X["c"] * 1e300)
    with pytest.raises(ValueError, match=r"too far from the training rows.*\['c'\]"):
        clf.predict(far)


def pseudo_label_column(X):
    return np.arange(len(X)) % 3


def test_passthrough_warns_when_the_last_column_is_a_named_feature(frames):
    X, Y = frames
    X = X.assign(age=np.arange(len(X)) % 50 + 18)
    with pytest.warns(UserWarning, match="that column is named 'age'"):
        tiny(pseudo_labels="passthrough").fit(X, Y)


def test_passthrough_after_a_pandas_som_gives_no_warning(frames):
    X, Y = frames
    som = SOMPseudoLabeler(n_clusters=4, n_iterations=100, random_state=0)
    pipe = Pipeline(
        [("clusters", som), ("hiss", tiny(pseudo_labels="passthrough"))]
    ).set_output(transform="pandas")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pipe.fit(X, Y)
    assert pipe[-1].input_mean_.shape == (4,)


@pytest.mark.parametrize("pseudo_labels", ["som", None])
def test_a_pseudo_label_column_without_passthrough_warns(frames, pseudo_labels):
    X, Y = frames
    X = X.assign(pseudo_label=pseudo_label_column(X))
    if pseudo_labels == "som":
        pseudo_labels = FAST_SOM
    with pytest.warns(UserWarning, match="Set pseudo_labels='passthrough' to read"):
        tiny(pseudo_labels=pseudo_labels).fit(X, Y)


# --------------------------------------------------- settings, before any fitting


class RecordingClusterer:
    """A clusterer that records whether fit_predict ran."""

    calls = []

    def fit_predict(self, X):
        self.calls.append(len(X))
        return np.arange(len(X)) % 2

    def get_params(self, deep=True):
        return {}

    def set_params(self, **params):
        return self


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(class_weight=[{0: 1, 1: -5}] * 4), r"class_weight\[0\]\[1\] is -5"),
        (dict(class_weight=[{0: 1, 1: np.nan}] * 4), r"class_weight\[0\]\[1\] is nan"),
        (dict(task_weights=[1, np.nan, 1, 1]), r"task_weights\[1\] is nan"),
        (dict(task_weights=[1, 1, np.inf, 1]), r"task_weights\[2\] is inf"),
        (dict(task_weights={"q3": -1.0}), r"task_weights\['q3'\] is -1.0"),
        (dict(task_weights=[1, "x", 1, 1]), r"task_weights\[1\] is 'x'"),
        (dict(device="gpu"), r"device='gpu' is not a torch device.*'cuda'"),
        (dict(pseudo_labels="kmeans"), "pseudo_labels must be 'som', 'passthrough'"),
    ],
)
def test_bad_settings_fail_before_anything_is_fitted(frames, params, message):
    X, Y = frames
    RecordingClusterer.calls.clear()
    clf = tiny(**{"pseudo_labels": RecordingClusterer(), **params})
    with pytest.raises(ValueError, match=message):
        clf.fit(X, Y)
    assert RecordingClusterer.calls == []
    assert not hasattr(clf, "net_")


@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_a_missing_gpu_is_named_at_the_start_of_fit(frames, monkeypatch, device):
    X, Y = frames
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    RecordingClusterer.calls.clear()
    clf = tiny(pseudo_labels=RecordingClusterer(), device=device)
    with pytest.raises(ValueError, match=r"sees no CUDA GPU.*device='cpu'"):
        clf.fit(X, Y)
    assert RecordingClusterer.calls == []


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_too_few_rows_for_the_default_networks_names_the_fix_and_it_works(frames):
    X, Y = frames
    X, Y = X.iloc[:8], Y.iloc[:8]
    defaults = {
        k: v
        for k, v in TINY.items()
        if k not in ("early_stopping", "decision_threshold", "n_networks")
    }
    with pytest.raises(ValueError, match=r"got 8 samples\. .*lower n_networks\."):
        HiSSClassifier(**defaults).fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # few rows, few classes
        clf = HiSSClassifier(n_networks=4, **defaults).fit(X, Y)
    assert len(clf.networks_) == 4
    assert clf.predict(X).shape == Y.shape


def test_zero_weights_are_still_allowed(frames):
    X, Y = frames
    clf = tiny(task_weights=[1, 0, 1, 1], class_weight=[{0: 0.0, 1: 2.0}] * 4)
    assert clf.fit(X, Y).predict(X).shape == Y.shape


@pytest.mark.parametrize("pseudo_labels", ["som", "passthrough"])
def test_alpha_zero_fits_no_pseudo_labeler(frames, pseudo_labels):
    X, Y = frames
    if pseudo_labels == "passthrough":
        X = X.assign(pseudo_label=pseudo_label_column(X))
    clf = tiny(alpha=0, pseudo_labels=pseudo_labels).fit(X, Y)
    assert clf.pseudo_labeler_ is None
    assert clf.n_pseudo_classes_ == 0
    assert clf.input_mean_.shape == (4,)  # the passthrough column is no feature
    assert clf.predict(X).shape == Y.shape


# ---------------------------------------------------------------- the factor step


def profile_and_usage(seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(200, 5)), columns=["age", "u1", "u2", "u3", "u4"])
    X["u2"] += X["u1"]
    X["u3"] += X["u1"]
    return X


def test_a_one_column_group_passes_through_standardised():
    X = profile_and_usage()
    groups = {"profile": ["age"], "usage": ["u1", "u2", "u3", "u4"]}
    reducer = FactorReducer(groups=groups).set_output(transform="pandas")
    scores = reducer.fit_transform(X)
    expected = (X["age"] - X["age"].mean()) / X["age"].std(ddof=0)
    np.testing.assert_allclose(scores["profile_f1"], expected)
    np.testing.assert_allclose(reducer.loadings_["profile"], [[1.0]])
    np.testing.assert_allclose(scores.std(ddof=0), 1.0)


@pytest.mark.parametrize("n_factors", [None, 2])
def test_factors_the_columns_do_not_identify_are_dropped_with_a_warning(n_factors):
    X = profile_and_usage()[["age", "u4"]]  # two uncorrelated columns
    reducer = FactorReducer(n_factors=n_factors)
    with pytest.warns(FactorAnalysisWarning, match=r"Group 'x'.*only 1 of the 2"):
        scores = reducer.fit_transform(X)
    assert reducer.n_factors_ == {"x": 1}
    assert reducer.get_feature_names_out().tolist() == ["x_f1"]
    np.testing.assert_allclose(scores.std(axis=0), 1.0)


def test_columns_without_any_common_factor_are_a_clear_error():
    X = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]] * 10, dtype=float)
    with pytest.raises(ValueError, match="group 'x' finds no common factor"):
        FactorReducer(n_factors=1).fit(X)


# -------------------------------------------------------------------------- SOM


@pytest.mark.parametrize(
    "params, setting",
    [(dict(n_clusters=150), "n_clusters=150"), (dict(grid_shape=(20, 10)), "grid")],
)
def test_more_cells_than_rows_warn_whatever_chose_them(frames, params, setting):
    X, _ = frames
    som = SOMPseudoLabeler(n_iterations=100, random_state=0, **params)
    with pytest.warns(UserWarning, match=f"{setting}.*more cells than the 80"):
        som.fit(X)


# ------------------------------------------------------------------ model files


def passthrough_pipeline():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=list("abc"))
    X["city"] = rng.choice(["x", "y"], 60)
    encode = ColumnTransformer(
        [("city", OneHotEncoder(), ["city"])], remainder="passthrough"
    )
    pipe = Pipeline([("encode", encode), ("factors", FactorReducer(n_factors=2))])
    return pipe.fit(X), X


def test_a_column_transformer_passing_columns_through_saves(tmp_path):
    pipe, X = passthrough_pipeline()
    loaded = load_model(save_model(pipe, tmp_path / "pipe.hiss"))
    np.testing.assert_array_equal(loaded.transform(X), pipe.transform(X))


def test_a_function_transformer_with_a_function_is_refused(tmp_path):
    pipe = Pipeline([("log", FunctionTransformer(np.log1p))])
    with pytest.raises(TypeError, match="FunctionTransformer is stored only without"):
        save_model(pipe, tmp_path / "pipe.hiss")


def test_a_file_giving_the_passthrough_a_function_is_refused(tmp_path):
    pipe, _ = passthrough_pipeline()
    path = save_model(pipe, tmp_path / "pipe.hiss")
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    text = members["model.json"].decode()
    text, count = re.subn(r'\["func", null\]', '["func", "os.system"]', text)
    assert count == 1
    members["model.json"] = text.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    with pytest.raises(ValueError, match="FunctionTransformer that holds a function"):
        load_model(path)


# ----------------------------------------------------------- the demo and the docs


def small_flights(**kwargs):
    bunch = make_hierarchical_classification(
        n_samples=40,
        n_features=6,
        tasks=(2, 2),
        as_frame=True,
        return_X_y=False,
        random_state=0,
    )
    bunch.data["rare"] = 0.0  # constant in the sample, as rare indicators are
    bunch.feature_groups = {"all": list(bunch.data.columns)}
    return bunch


def test_too_many_folds_end_the_demo_with_one_line(monkeypatch, capsys):
    monkeypatch.setattr(demo, "load_flight_disruptions", small_flights)
    code = main(["demo", "--quick", "--cv", "100000", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "sklearn-hiss demo: error: cv=100000 asks for 100000 folds, but there are "
        "40 rows of the --quick sample; every fold needs a test row, so give a "
        "number from 2 to 40 (5 is usual)."
    ]
    with pytest.raises(demo.DemoSettingError, match="cv=1 asks for 1 folds"):
        demo.run_demo(cv=1, progress=False)


def test_the_quick_demo_shows_no_warning_about_sample_constants(monkeypatch):
    monkeypatch.setattr(demo, "load_flight_disruptions", small_flights)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = demo.run_demo(quick=True, progress=False)
    assert not [w for w in caught if issubclass(w.category, FactorAnalysisWarning)]
    assert list(result.summary.index)[-1] == "HiSS"
    with pytest.warns(FactorAnalysisWarning, match="constant training columns"):
        FactorReducer().fit(small_flights().data)  # outside --quick they show


def test_the_readme_states_the_time_its_output_shows():
    text = (ROOT / "README.md").read_text()
    stated = re.search(r"The run below took (\d+ min \d+ s)", text).group(1)
    shown = re.search(r"Total time: (\d+ min \d+ s)\.", text).group(1)
    assert stated == shown


MISSING_LABELS_DOC = (ROOT / "docs" / "user_guide" / "missing_labels.rst").read_text()


def marked(Y, marker):
    if marker is None:
        Y = Y.astype(object)
    elif marker is pd.NA:
        Y = Y.astype("Int64")
    else:
        Y = Y.astype(float)
    Y.iloc[::4, 1] = marker
    return Y


def cross_validation_section():
    start = MISSING_LABELS_DOC.index("Missing labels in cross-validation")
    end = MISSING_LABELS_DOC.index("Rows without any label")
    return " ".join(MISSING_LABELS_DOC[start:end].split())


@pytest.mark.parametrize(
    "marker, named, message",
    [
        (np.nan, "NaN", "Input y contains NaN"),
        (pd.NA, "``pandas.NA``", "Input y contains NaN"),
        (None, "None", "'<' not supported between instances of"),
    ],
    ids=["nan", "pd.NA", "None"],
)
def test_the_docs_explain_what_an_integer_cv_does_with_each_marker(
    frames, marker, named, message
):
    X, Y = frames
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        cross_validate(tiny(), X, marked(Y, marker), cv=2, error_score="raise")
    section = cross_validation_section()
    assert message in section and named in section
    scores = cross_validate(tiny(), X, marked(Y, marker), cv=KFold(2))
    assert np.isfinite(scores["test_score"]).all()


def test_the_docs_warn_that_cross_val_predict_makes_the_marker_a_class():
    section = cross_validation_section()
    assert "cross_val_predict" in section and "becomes a class" in section
