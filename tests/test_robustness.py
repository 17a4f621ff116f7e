"""Messy data and long runs: every fault either works or fails early and clearly.

Grouped by kind of fault: labels, input, numerics, training control and
reproducibility. Model files are in test_persistence.py, random inputs in
test_properties.py.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from _settings import TINY
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import Pipeline
from skorch.callbacks import Callback
from threadpoolctl import threadpool_limits

from sklearn_hiss import FactorReducer, HiSSClassifier, SOMPseudoLabeler
from sklearn_hiss._factor import FactorAnalysisWarning
from sklearn_hiss.datasets import make_hierarchical_classification
from sklearn_hiss.metrics import UndefinedSubtaskMetricWarning, per_task_scorers

FAST_SOM = SOMPseudoLabeler(n_clusters=4, n_iterations=200)
# A sub-task left with one class by the few rows a test keeps.
FEW_CLASSES = "ignore:Y column .*(has a single class|every labeled entry)"


@pytest.fixture(scope="module")
def data():
    return make_hierarchical_classification(
        n_samples=120, n_features=6, tasks=(2, 2), random_state=0
    )


@pytest.fixture(scope="module")
def fitted(data):
    X, Y = data
    return HiSSClassifier(**TINY).fit(X, Y)


def tiny(**params):
    return HiSSClassifier(**{**TINY, **params})


def assert_probabilities(probas, n_rows):
    for proba in probas:
        assert proba.shape[0] == n_rows
        assert np.all((proba >= 0) & (proba <= 1))
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)


# ------------------------------------------------------------------------ labels


def test_missing_labels_in_every_nullable_dtype(data):
    X, Y = data
    frame = pd.DataFrame(
        {
            "flag": pd.array(Y[:, 0].astype(bool), dtype="boolean"),
            "word": pd.Series(np.where(Y[:, 1] == 1, "yes", "no"), dtype="string"),
            "level": pd.Categorical(np.where(Y[:, 2] == 1, "high", "low")),
            "count": pd.array(Y[:, 3].astype(float), dtype="Float64"),
        }
    )
    frame.iloc[::4, :] = pd.NA
    frame.iloc[1::7, 1] = None
    clf = tiny(tasks=["a", "a", "b", "b"]).fit(X, frame)
    assert [list(c) for c in clf.classes_] == [
        [False, True],
        ["no", "yes"],
        ["high", "low"],
        [0, 1],
    ]
    pred = clf.predict(X)
    assert set(pred[:, 1]) <= {"no", "yes"} and set(pred[:, 2]) <= {"high", "low"}
    assert_probabilities(clf.predict_proba(X), len(X))


@pytest.mark.parametrize(
    "labels, seen, classes",
    [
        (np.zeros, 0, [0, 1]),
        (np.ones, 1, [0, 1]),
        (lambda n: np.zeros(n, dtype=bool), False, [False, True]),
    ],
)
def test_indicator_subtask_with_one_class_keeps_two_probability_columns(
    data, labels, seen, classes
):
    X, Y = data
    Y = pd.DataFrame(Y.astype(object), columns=list("pqrs"))
    Y["q"] = labels(len(X))
    with pytest.warns(UserWarning, match="'q' has a single class"):
        clf = tiny().fit(X, Y)
    proba = clf.predict_proba(X)[1]
    assert list(clf.classes_[1]) == classes
    assert proba.shape == (len(X), 2)
    np.testing.assert_array_equal(proba[:, classes.index(seen)], 1.0)
    assert set(clf.predict(X)[:, 1]) == {seen}


def test_lone_string_class_gives_one_column_and_scorers_survive(data):
    X, Y = data
    y = np.full(len(X), "yes")
    with pytest.warns(UserWarning, match="single class"):
        clf = tiny().fit(X, y)
    assert list(clf.classes_) == ["yes"]
    assert clf.predict_proba(X).shape == (len(X), 1)
    assert clf.score(X, y) == 1.0


def test_single_positive_with_every_class_option(data):
    X, Y = data
    Y = Y.copy()
    Y[:, 1] = 0
    Y[7, 1] = 1
    clf = tiny(class_weight="balanced", decision_threshold="f1", early_stopping=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, Y)
    assert_probabilities(clf.predict_proba(X), len(X))
    assert np.isfinite(clf.thresholds_).all()


def test_class_weight_dict_survives_a_fold_without_positives(data):
    X, Y = data
    Y = Y.copy()
    Y[:, 0] = 0
    weights = [{0: 1.0, 1: 5.0}] * Y.shape[1]
    with pytest.warns(UserWarning, match="single class"):
        clf = tiny(class_weight=weights).fit(X, Y)
    assert clf.predict_proba(X)[0].shape == (len(X), 2)


def test_rows_without_any_label_still_train_the_auxiliary_task(data):
    X, Y = data
    Y = Y.astype(float)
    Y[:60] = np.nan
    clf = tiny(pseudo_labels=FAST_SOM).fit(X, Y)
    assert clf.pseudo_labeler_.labels_.shape == (len(X),)
    assert clf.n_pseudo_classes_ > 1


@pytest.mark.parametrize(
    "make_y, message",
    [
        (lambda Y: np.where(np.arange(4) == 2, -1, Y), "column 2 has no labeled entry"),
        (lambda Y: np.full(Y.shape, np.nan), "column 0 has no labeled entry"),
        (lambda Y: Y + np.linspace(0, 0.5, len(Y))[:, None], "continuous values"),
        (lambda Y: np.linspace(0, 1, len(Y)), "For a continuous outcome use a"),
        (lambda Y: pd.DataFrame(Y, columns=list("aabc")), "duplicated column names"),
        (lambda Y: Y[:, :0], "y has no columns"),
        (lambda Y: np.array(["x" if v else 1 for v in Y[:, 0]], dtype=object), "mixes"),
    ],
)
def test_unusable_targets_are_clear_errors(data, make_y, message):
    X, Y = data
    with pytest.raises((ValueError, TypeError), match=message):
        tiny().fit(X, make_y(Y))


def test_cross_validate_survives_one_class_and_unlabeled_folds(data):
    X, Y = data
    Y = Y.copy()
    Y[:, 1] = 0
    Y[:30, 1] = 1  # only the first fold holds positives of sub-task 1
    Y[40:80, 2] = -1  # sub-task 2 is unlabeled in the whole second fold
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        result = cross_validate(
            tiny(),
            X,
            Y,
            cv=KFold(3),
            scoring=per_task_scorers(),
            error_score="raise",
        )
    assert np.isfinite(result["test_accuracy"]).all()
    assert np.isfinite(result["test_roc_auc"]).all()


def test_score_checks_the_shape_of_y(fitted, data):
    X, Y = data
    with pytest.raises(ValueError, match=r"y has shape \(120, 2\)"):
        fitted.score(X, Y[:, :2])


def test_score_without_any_label_is_nan_with_a_warning(fitted, data):
    X, Y = data
    with pytest.warns(UndefinedSubtaskMetricWarning, match="no labeled entry"):
        assert np.isnan(fitted.score(X, np.full(Y.shape, -1)))


# ------------------------------------------------------------------------- input

ESTIMATORS = [
    pytest.param(lambda: tiny(), id="hiss"),
    pytest.param(lambda: SOMPseudoLabeler(n_clusters=4), id="som"),
    pytest.param(lambda: FactorReducer(), id="factor"),
]


def fit(estimator, X, Y):
    return (
        estimator.fit(X, Y)
        if isinstance(estimator, HiSSClassifier)
        else (estimator.fit(X))
    )


def apply(estimator, X):
    if isinstance(estimator, FactorReducer):
        return estimator.transform(X)
    return estimator.predict(X)


@pytest.mark.parametrize("make", ESTIMATORS)
@pytest.mark.parametrize(
    "value, message", [(np.nan, "Input X contains NaN"), (np.inf, "infinity")]
)
def test_non_finite_features_are_refused_at_fit_and_predict(data, make, value, message):
    X, Y = data
    bad = X.copy()
    bad[3, 2] = value
    with pytest.raises(ValueError, match=message):
        fit(make(), bad, Y)
    fitted = fit(make(), X, Y)
    with pytest.raises(ValueError, match=message):
        apply(fitted, bad)


@pytest.mark.parametrize("make", ESTIMATORS)
def test_non_numeric_dataframe_columns_point_to_a_column_transformer(data, make):
    X, Y = data
    for column in (
        pd.Series(["a", "b", "c"] * 40, dtype=object),
        pd.Series(["a", "b", "c"] * 40, dtype="string"),
        pd.Categorical([1, 2, 3] * 40),
        pd.date_range("2020-01-01", periods=120),
    ):
        frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
        frame["extra"] = column
        with pytest.raises(ValueError, match=r"\['extra'\].*ColumnTransformer"):
            fit(make(), frame, Y)


@pytest.mark.parametrize("make", ESTIMATORS)
def test_an_array_of_strings_points_to_a_column_transformer(data, make):
    X, Y = data
    with pytest.raises(ValueError, match="array of strings.*ColumnTransformer"):
        fit(make(), np.full(X.shape, "high"), Y)


@pytest.mark.parametrize("make", ESTIMATORS)
def test_changed_feature_names_are_refused_at_predict(data, make):
    X, Y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    fitted = fit(make(), frame, Y)
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        apply(fitted, frame.rename(columns={"f0": "g0"}))
    with pytest.raises(ValueError, match="must be in the same order"):
        apply(fitted, frame[frame.columns[::-1]])


@pytest.mark.parametrize(
    "rows_x, rows_y, message",
    [
        (0, 0, "Found array with 0 sample"),
        (120, 119, "X has 120 rows but y has 119"),
        (119, 120, "X has 119 rows but y has 120"),
        (1, 1, "at least 2 samples"),
    ],
)
def test_empty_short_and_mismatched_inputs(data, rows_x, rows_y, message):
    X, Y = data
    with pytest.raises(ValueError, match=message):
        tiny().fit(X[:rows_x], Y[:rows_y])


@pytest.mark.filterwarnings(FEW_CLASSES)
@pytest.mark.filterwarnings("ignore::sklearn_hiss.FactorAnalysisWarning")
def test_too_few_rows_for_the_som_and_the_factors(data):
    X, Y = data
    with pytest.warns(UserWarning, match="more cells than the 3 training rows"):
        clf = tiny(pseudo_labels="som").fit(X[:3], Y[:3])
    assert clf.predict(X[:3]).shape == (3, 4)
    with pytest.raises(ValueError, match="leaves no validation"):
        tiny(early_stopping=True).fit(X[:3], Y[:3])
    with pytest.raises(ValueError, match=r"n_networks=5 .*at least 10 samples; got 3"):
        tiny(early_stopping=True, n_networks=5).fit(X[:3], Y[:3])
    with pytest.raises(ValueError, match="minimum of 2 is required"):
        SOMPseudoLabeler().fit(X[:1])
    with pytest.raises(ValueError, match="only 3 training rows"):
        FactorReducer(n_factors=4).fit(X[:3])


_VALIDATION_NEEDS = ("early_stopping", "decision_threshold")


@pytest.mark.parametrize(
    "needs",
    [
        {"early_stopping": True},
        {"decision_threshold": "f1"},
        {},  # the defaults need both
    ],
    ids=["early_stopping", "f1", "defaults"],
)
@pytest.mark.filterwarnings(FEW_CLASSES)
@pytest.mark.parametrize("n_networks, n_rows", [(5, 9), (2, 3), (40, 79)])
def test_more_networks_than_the_rows_allow_is_a_clear_error(
    data, needs, n_networks, n_rows
):
    X, Y = data
    params = {**TINY, "n_networks": n_networks}
    if not needs:
        params = {k: v for k, v in params.items() if k not in _VALIDATION_NEEDS}
    clf = HiSSClassifier(**{**params, **needs})
    message = (
        rf"n_networks={n_networks} trains each network on all rows but one of "
        rf"{n_networks} folds, which needs at least {2 * n_networks} samples; got "
        rf"{n_rows} samples\. Give more rows or lower n_networks\."
    )
    with pytest.raises(ValueError, match=message):
        clf.fit(X[:n_rows], Y[:n_rows])
    assert not hasattr(clf, "networks_")


@pytest.mark.filterwarnings(FEW_CLASSES)
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_fewest_rows_that_cross_fitting_allows(data):
    X, Y = data
    clf = tiny(early_stopping=True, decision_threshold="f1", n_networks=5)
    clf.fit(X[:10], Y[:10])
    assert len(clf.networks_) == 5
    assert_probabilities(clf.predict_proba(X), len(X))


@pytest.mark.filterwarnings(FEW_CLASSES)
def test_networks_without_validation_needs_train_on_every_row(data):
    X, Y = data
    clf = tiny(n_networks=4).fit(X[:3], Y[:3])  # fewer rows than networks
    assert len(clf.networks_) == 4
    assert clf.n_iter_ == 3
    weights = [net.module_.output.weight for net in clf.networks_]
    assert not any(torch.equal(weights[0], w) for w in weights[1:])  # own seeds
    assert_probabilities(clf.predict_proba(X), len(X))


def test_constant_and_duplicated_columns(data):
    X, Y = data
    wide = np.column_stack([X, X[:, :2], np.full(len(X), 7.0)])
    clf = tiny().fit(wide, Y)
    changed = wide.copy()
    changed[:, -1] = -3.0  # the constant column carries no information
    assert_probabilities(clf.predict_proba(wide), len(X))
    for p, q in zip(clf.predict_proba(wide), clf.predict_proba(changed)):
        assert np.isfinite(q).all() and p.shape == q.shape
    with pytest.warns(FactorAnalysisWarning, match="constant training columns"):
        scores = FactorReducer().fit_transform(wide)
    assert np.isfinite(scores).all()
    with pytest.warns(UserWarning, match="Check that X is not constant"):
        SOMPseudoLabeler(random_state=0).fit(np.ones((20, 3)))


# ---------------------------------------------------------------------- numerics


@pytest.mark.parametrize("factor", [1e-200, 1e200])
def test_extreme_feature_scales_give_the_same_model(data, fitted, factor):
    X, Y = data
    scaled = tiny().fit(X * factor, Y)
    for p, q in zip(fitted.predict_proba(X), scaled.predict_proba(X * factor)):
        np.testing.assert_array_equal(p, q)
    np.testing.assert_allclose(
        FactorReducer().fit_transform(X * factor),
        FactorReducer().fit_transform(X),
        atol=1e-8,
    )


def test_som_refuses_magnitudes_whose_distances_overflow(data):
    X, _ = data
    with pytest.raises(ValueError, match=r"magnitude \d\.\de\+200.*StandardScaler"):
        SOMPseudoLabeler().fit(X * 1e200)
    with pytest.raises(ValueError, match=r"magnitude \d\.\de-200.*StandardScaler"):
        SOMPseudoLabeler().fit(X * 1e-200)


def test_predicting_far_outside_the_float32_range_is_a_clear_error(fitted, data):
    X, _ = data
    with pytest.raises(ValueError, match=r"too far from the training rows.*\[0, "):
        fitted.predict_proba(X * 1e300)


def test_non_finite_network_outputs_are_never_returned(fitted, data):
    X, _ = data
    broken = clone(fitted).fit(*data)
    with torch.no_grad():
        broken.net_.module_.shared[0].weight.mul_(1e30)
        broken.net_.module_.task[0].weight.mul_(1e30)
    with pytest.raises(ValueError, match="outputs for rows .* are NaN or infinite"):
        broken.predict_proba(X)


@pytest.mark.parametrize("learning_rate", [1e12, 1e20])
def test_a_diverging_loss_names_the_epoch_and_the_learning_rate(data, learning_rate):
    X, Y = data
    clf = tiny(learning_rate=learning_rate, max_epochs=20)
    with pytest.raises(
        FloatingPointError, match=r"diverged.* epoch \d+.*learning_rate"
    ):
        clf.fit(X, Y)
    assert not hasattr(clf, "net_")


class PoisonWeightsAtTheEnd(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == net.max_epochs:
            with torch.no_grad():
                net.module_.output.weight[0, 0, 0] = float("nan")


def test_weights_that_turn_nan_in_the_last_step_are_a_clear_error(data):
    X, Y = data
    clf = tiny(callbacks=[PoisonWeightsAtTheEnd()])
    with pytest.raises(FloatingPointError, match="weights became NaN .* epoch 3"):
        clf.fit(X, Y)


# -------------------------------------------------------------- training control

RECORDED = []


class RecordSplits(Callback):
    """Keep the row ids (first feature) that trained and validated each fit."""

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if len(net.history) == 1:
            RECORDED.append((dataset_train.X[:, 0], dataset_valid.X[:, 0]))


def row_ids(standardised, rows):
    """Invert the standardisation that fit learned on exactly ``rows``."""
    return np.round(rows.std() * np.asarray(standardised) + rows.mean()).astype(int)


def search_recording_splits(data, **params):
    """A 2-fold grid search whose fits record their (train, valid) rows.

    Returns the row ids of what each fit trained on: fold 1, fold 2, refit.
    """
    X, Y = data
    ids = np.arange(len(X), dtype=float)
    RECORDED.clear()
    search = GridSearchCV(
        tiny(early_stopping=True, max_epochs=2, callbacks=[RecordSplits()], **params),
        {"alpha": [0.0]},
        cv=KFold(2),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(np.column_stack([ids, X]), Y)
    return [ids[60:], ids[:60], ids]


def test_early_stopping_in_a_grid_search_validates_on_the_training_fold(data):
    folds = search_recording_splits(data)
    assert len(RECORDED) == 3
    for (train, valid), rows in zip(RECORDED, folds):
        restore = row_ids(np.concatenate([train, valid]), rows)
        assert sorted(restore) == sorted(rows.astype(int))
        assert len(valid) == round(0.1 * len(rows))


def test_cross_fitted_networks_validate_on_folds_of_the_training_fold(data):
    folds = search_recording_splits(data, n_networks=3)
    assert len(RECORDED) == 3 * 3
    for fit_number, rows in enumerate(folds):
        networks = RECORDED[3 * fit_number : 3 * fit_number + 3]
        validated = [row_ids(valid, rows) for _, valid in networks]
        # Every training row validates exactly one network, and only it.
        assert sorted(np.concatenate(validated)) == sorted(rows.astype(int))
        assert {len(v) for v in validated} == {len(rows) // 3}
        for (train, _), valid in zip(networks, validated):
            trained = row_ids(train, rows)
            assert not set(trained) & set(valid)
            assert sorted(np.concatenate([trained, valid])) == sorted(rows)


class RecordValidationLabels(Callback):
    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if len(net.history) == 1:
            RECORDED.append(dataset_valid.targets["y"].numpy())


@pytest.mark.filterwarnings(FEW_CLASSES)
@pytest.mark.parametrize("random_state", [0, 1, 2, 3])
def test_validation_split_of_mostly_unlabeled_data_holds_labeled_rows(
    data, random_state
):
    X, Y = data
    Y = Y.copy()
    Y[6:] = -1  # 6 labeled rows out of 120
    RECORDED.clear()
    clf = tiny(
        early_stopping=True,
        patience=1,
        random_state=random_state,
        callbacks=[RecordValidationLabels()],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, Y)
    valid_labels = RECORDED[0]
    assert len(valid_labels) == 12
    assert (valid_labels >= 0).any(axis=1).sum() == 1  # 10% of the labeled rows
    assert np.all(np.asarray(clf.history_[:, "valid_loss"]) > 0)


@pytest.mark.filterwarnings(FEW_CLASSES)
def test_every_network_validates_on_labeled_rows_of_mostly_unlabeled_data(data):
    X, Y = data
    Y = Y.copy()
    Y[6:] = -1  # 6 labeled rows out of 120
    RECORDED.clear()
    clf = tiny(
        early_stopping=True,
        decision_threshold="f1",
        n_networks=3,
        patience=1,
        callbacks=[RecordValidationLabels()],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, Y)
    assert len(RECORDED) == 3
    for valid_labels in RECORDED:  # labeled rows are dealt out first
        assert len(valid_labels) == 40
        assert (valid_labels >= 0).any(axis=1).sum() == 2
    assert np.isfinite(clf.thresholds_).all()


def test_early_stopping_when_every_subtask_has_one_class(data):
    X, Y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.warns(UserWarning, match="single class"):
            clf = tiny(early_stopping=True).fit(X, np.zeros_like(Y))
    assert (clf.predict(X) == 0).all()


def test_max_epochs_zero_and_huge_batches(data):
    X, Y = data
    with pytest.raises(ValueError, match="'max_epochs' parameter"):
        tiny(max_epochs=0).fit(X, Y)
    big = tiny(batch_size=10_000).fit(X, Y)
    assert big.n_iter_ == 3
    assert_probabilities(big.predict_proba(X), len(X))


class InterruptSecondEpoch(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            raise KeyboardInterrupt


@pytest.mark.parametrize("early_stopping", [False, True])
def test_keyboard_interrupt_escapes_searches_and_keeps_the_old_model(
    data, fitted, early_stopping
):
    X, Y = data
    interrupted = tiny(callbacks=[InterruptSecondEpoch()])
    interrupted.set_params(early_stopping=early_stopping)
    with pytest.raises(KeyboardInterrupt):
        cross_validate(interrupted, X, Y, cv=2)
    with pytest.raises(KeyboardInterrupt):
        GridSearchCV(interrupted, {"alpha": [0.0, 1.0]}, cv=2).fit(X, Y)

    model = clone(fitted).fit(X, Y)
    before = model.predict_proba(X)
    with pytest.raises(KeyboardInterrupt):
        model.set_params(callbacks=[InterruptSecondEpoch()]).fit(X, Y)
    for p, q in zip(before, model.predict_proba(X)):
        np.testing.assert_array_equal(p, q)


class InterruptSecondNetwork(Callback):
    """Raise KeyboardInterrupt in the first epoch of the second network."""

    def __init__(self):
        self.networks_begun = 0

    def on_train_begin(self, net, **kwargs):
        self.networks_begun += 1

    def on_epoch_end(self, net, **kwargs):
        if self.networks_begun == 2:
            raise KeyboardInterrupt


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_interrupt_between_networks_keeps_the_old_model(data):
    X, Y = data
    model = tiny(n_networks=3, early_stopping=True).fit(X, Y)
    networks, before = list(model.networks_), model.predict_proba(X)
    thresholds = model.thresholds_.copy()

    with pytest.raises(KeyboardInterrupt):
        model.set_params(callbacks=[InterruptSecondNetwork()]).fit(X, Y)
    assert model.networks_ == networks
    np.testing.assert_array_equal(model.thresholds_, thresholds)
    for p, q in zip(before, model.predict_proba(X)):
        np.testing.assert_array_equal(p, q)


# --------------------------------------------------------------- reproducibility


# Wide globally shared layers and a 10-class auxiliary head: large enough for
# torch's parallel reductions to round differently with 1 and 2 threads.
WIDE = dict(shared_units=(256,), max_epochs=5)


def test_seeded_fits_do_not_depend_on_the_torch_thread_count(data):
    X, Y = data
    som = SOMPseudoLabeler(n_clusters=10, n_iterations=300)
    previous = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            clf = tiny(pseudo_labels=som, **WIDE).fit(X, Y)
            results.append(clf.predict_proba(X))
            assert torch.get_num_threads() == threads
    finally:
        torch.set_num_threads(previous)
    for p, q in zip(*results):
        np.testing.assert_array_equal(p, q)


def test_cross_validation_gives_the_same_models_for_every_n_jobs(data):
    X, Y = data
    pipe = Pipeline(
        [
            ("factors", FactorReducer(n_factors=3)),
            ("clusters", SOMPseudoLabeler(n_clusters=10, random_state=0)),
            ("hiss", tiny(pseudo_labels="passthrough", **WIDE)),
        ]
    )
    previous = torch.get_num_threads()
    torch.set_num_threads(2)  # joblib's two workers get one thread each here
    try:
        runs = [
            cross_validate(
                pipe, X, Y, cv=KFold(2), n_jobs=n_jobs, return_estimator=True
            )
            for n_jobs in (1, 2)
        ]
    finally:
        torch.set_num_threads(previous)
    np.testing.assert_array_equal(runs[0]["test_score"], runs[1]["test_score"])
    for first, second in zip(runs[0]["estimator"], runs[1]["estimator"]):
        for p, q in zip(first.predict_proba(X), second.predict_proba(X)):
            np.testing.assert_array_equal(p, q)


def test_som_and_factors_are_reproducible_under_any_blas_thread_count(data):
    X, _ = data
    outputs = []
    for threads in (1, 2):
        with threadpool_limits(threads):
            factors = FactorReducer(n_factors=3).fit_transform(X)
            som = SOMPseudoLabeler(random_state=0).fit(factors)
            outputs.append((factors, som.codebook_, som.labels_))
    for first, second in zip(*outputs):
        np.testing.assert_array_equal(first, second)
