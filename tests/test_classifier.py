"""HiSSClassifier's contracts: learning, labels, hierarchy, training control, API."""

import copy
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from skorch.callbacks import Callback

from sklearn_hiss import HiSSClassifier, SOMPseudoLabeler
from sklearn_hiss._skorch import _subtask_roc_auc
from sklearn_hiss.datasets import make_hierarchical_classification

FAST_SOM = SOMPseudoLabeler(n_clusters=4, n_iterations=300)
# The paper's configuration: one network, a fixed number of epochs, threshold 0.5.
# Tests about anything but the defaults use it, so epochs and outputs are fixed.
PAPER = dict(
    task_units=(128, 128),
    alpha=1.0,
    class_weight=None,
    decision_threshold=0.5,
    early_stopping=False,
    n_networks=1,
)
FAST = dict(
    **PAPER, max_epochs=15, learning_rate=0.01, pseudo_labels=FAST_SOM, random_state=0
)
TASKS = {"a": 3, "b": 2}


@pytest.fixture(scope="module")
def data():
    X, Y = make_hierarchical_classification(
        n_samples=400, n_features=8, tasks=(3, 2), random_state=0
    )
    return X, Y


@pytest.fixture(scope="module")
def fitted(data):
    X, Y = data
    return HiSSClassifier(tasks=TASKS, **FAST).fit(X, Y)


def mean_auroc(Y, probas):
    return np.mean([roc_auc_score(Y[:, t], p[:, 1]) for t, p in enumerate(probas)])


def test_shared_signal_beats_one_logistic_regression_per_subtask():
    X, Y = make_hierarchical_classification(
        n_samples=1200, n_features=30, tasks=(6, 4), task_signal=0.2, random_state=1
    )
    train, test = slice(0, 200), slice(200, None)
    clf = HiSSClassifier(tasks={"a": 6, "b": 4}, max_epochs=30, random_state=0)
    hiss = mean_auroc(Y[test], clf.fit(X[train], Y[train]).predict_proba(X[test]))
    per_task = [
        LogisticRegression(max_iter=1000).fit(X[train], y).predict_proba(X[test])
        for y in Y[train].T
    ]
    assert hiss >= mean_auroc(Y[test], per_task)


def test_output_shapes_and_classes(fitted, data):
    X, Y = data
    proba = fitted.predict_proba(X[:7])
    assert fitted.predict(X[:7]).shape == (7, 5)
    assert len(proba) == 5 and all(p.shape == (7, 2) for p in proba)
    np.testing.assert_allclose(sum(p.sum() for p in proba), 5 * 7)
    assert all(list(c) == [0, 1] for c in fitted.classes_)
    assert fitted.n_iter_ == len(fitted.history_) == 15
    assert fitted.hierarchy_.main_tasks == ["a", "b"]


def test_same_random_state_gives_identical_fits(data, fitted):
    X, Y = data
    again = clone(fitted).fit(X, Y)
    other = clone(fitted).set_params(random_state=1).fit(X, Y)
    for p, q, r in zip(
        fitted.predict_proba(X), again.predict_proba(X), other.predict_proba(X)
    ):
        np.testing.assert_array_equal(p, q)
        assert not np.allclose(p, r)


@pytest.mark.parametrize("missing", [np.nan, None, pd.NA, -1])
def test_masked_entries_do_not_influence_the_fit(data, missing):
    X, Y = data
    mask = np.random.default_rng(0).random(Y.shape) < 0.3
    Y1 = Y.astype(object)
    Y1[mask] = missing
    flipped = np.where(mask, 1 - Y, Y).astype(object)
    flipped[mask] = missing
    reference = Y.astype(object)
    reference[mask] = -1
    a = HiSSClassifier(tasks=TASKS, **FAST).fit(X, pd.DataFrame(Y1))
    b = HiSSClassifier(tasks=TASKS, **FAST).fit(X, pd.DataFrame(reference))
    for p, q in zip(a.predict_proba(X), b.predict_proba(X)):
        np.testing.assert_array_equal(p, q)
    assert set(np.unique(a.predict(X))) == {0, 1}


def test_nullable_integer_columns_with_pandas_na(data):
    X, Y = data
    frame = pd.DataFrame(Y, columns=list("pqrst")).astype("Int64")
    frame.iloc[::3, 1] = pd.NA
    clf = HiSSClassifier(tasks={"a": ["p", "q", "r"], "b": ["s", "t"]}, **FAST)
    assert clf.fit(X, frame).predict(X).shape == (len(X), 5)


def test_rows_without_any_label_train_the_auxiliary_task(data):
    X, Y = data
    Y = Y.copy()
    Y[:200] = -1
    clf = HiSSClassifier(tasks=TASKS, **FAST).fit(X, Y)
    assert clf.pseudo_labeler_.labels_.shape == (len(X),)
    assert np.isfinite(clf.history_[:, "train_loss"]).all()


@pytest.mark.parametrize(
    "units",
    [
        dict(shared_units=(), local_units=(), task_units=(16,)),
        dict(shared_units=(), local_units=(16,), task_units=(16,)),
        dict(shared_units=(16,), local_units=(), task_units=(16,)),
        dict(shared_units=(16,), local_units=(16,), task_units=(16,)),
        dict(shared_units=(16,), local_units=(16,), task_units=()),
    ],
)
@pytest.mark.parametrize("pseudo_labels", [None, FAST_SOM])
def test_every_ablation_row_is_a_parameter_setting(data, units, pseudo_labels):
    X, Y = data
    params = {**FAST, "pseudo_labels": pseudo_labels, **units}
    clf = HiSSClassifier(tasks=TASKS, **params)
    clf.fit(X, Y)
    assert mean_auroc(Y, clf.predict_proba(X)) > 0.6
    assert (clf.n_pseudo_classes_ > 0) == (pseudo_labels is not None)


def test_grid_search_over_alpha_and_widths_in_a_pipeline(data):
    X, Y = data
    pipe = Pipeline(
        [("scale", StandardScaler()), ("hiss", HiSSClassifier(tasks=TASKS, **FAST))]
    )
    grid = {"hiss__alpha": [0.0, 1.0], "hiss__shared_units": [(8,), (16,)]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X, Y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_["hiss__alpha"] in (0.0, 1.0)
    assert 0.5 < search.best_score_ <= 1.0


def test_one_dimensional_string_target_is_an_ordinary_classifier(data):
    X, Y = data
    y = np.where(Y[:, 0] == 1, "yes", "no")
    clf = HiSSClassifier(**FAST).fit(X, y)
    assert list(clf.classes_) == ["no", "yes"]
    assert clf.predict(X).shape == (len(X),)
    assert clf.predict_proba(X).shape == (len(X), 2)
    assert clf.score(X, y) == np.mean(clf.predict(X) == y)


def test_mixed_label_types_and_a_multiclass_subtask(data):
    X, Y = data
    frame = pd.DataFrame(
        {
            "flag": Y[:, 0].astype(bool),
            "word": np.where(Y[:, 1] == 1, "high", "low"),
            "level": Y[:, 2] + Y[:, 3] + Y[:, 4],
        }
    )
    clf = HiSSClassifier(tasks=["x", "x", "y"], **FAST).fit(X, frame)
    pred = clf.predict(X)
    assert pred.dtype == object
    assert set(pred[:, 1]) <= {"high", "low"}
    assert clf.predict_proba(X)[2].shape == (len(X), 4)
    assert [len(c) for c in clf.classes_] == [2, 2, 4]


def test_score_is_mean_accuracy_over_labeled_entries(fitted, data):
    X, Y = data
    Y = Y.copy()
    Y[::2, 0] = -1
    pred = fitted.predict(X)
    labeled = Y[:, 0] != -1
    expected = np.mean(
        [np.mean(pred[labeled, 0] == Y[labeled, 0])]
        + [np.mean(pred[:, t] == Y[:, t]) for t in range(1, 5)]
    )
    assert fitted.score(X, Y) == pytest.approx(expected)


@pytest.mark.parametrize(
    "tasks, groups",
    [
        (None, {"all": ["p", "q", "r", "s", "t"]}),
        ({"m": 2, "h": 3}, {"m": ["p", "q"], "h": ["r", "s", "t"]}),
        (["h", "m", "h", "m", "m"], {"h": ["p", "r"], "m": ["q", "s", "t"]}),
        (
            {"m": ["q", "p"], "h": ["r", "s", "t"]},
            {"m": ["p", "q"], "h": ["r", "s", "t"]},
        ),
    ],
)
def test_task_hierarchy_forms(data, tasks, groups):
    X, Y = data
    frame = pd.DataFrame(Y, columns=list("pqrst"))
    clf = HiSSClassifier(
        tasks=tasks, max_epochs=1, pseudo_labels=None, random_state=0
    ).fit(X, frame)
    assert clf.hierarchy_.groups() == groups


def test_ragged_hierarchy_of_twelve_and_five():
    X, Y = make_hierarchical_classification(
        n_samples=200, n_features=6, tasks=(12, 5), random_state=0
    )
    clf = HiSSClassifier(
        tasks={"month": 12, "hour": 5}, max_epochs=2, pseudo_labels=None, random_state=0
    )
    assert len(clf.fit(X, Y).predict_proba(X)) == 17
    assert clf.net_.module_.local[0].weight.shape[0] == 2


@pytest.mark.parametrize(
    "tasks, message",
    [
        ({"a": ["p", "nope"], "b": ["q", "r", "s", "t"]}, "'nope', which is not"),
        ({"a": ["p", "q"], "b": ["r", "s"]}, r"Y columns \['t'\] are in no main"),
        ({"a": ["p", "q"], "b": ["q", "r", "s", "t"]}, "listed under main tasks"),
        ({"a": 2, "b": 2}, "summing to 4"),
        (["a", "b"], "2 main-task labels but Y has 5"),
        ("abcde", "tasks must be None"),
    ],
)
def test_bad_hierarchy_names_the_problem(data, tasks, message):
    X, Y = data
    frame = pd.DataFrame(Y, columns=list("pqrst"))
    with pytest.raises((ValueError, TypeError), match=message):
        HiSSClassifier(tasks=tasks, max_epochs=1, pseudo_labels=None).fit(X, frame)


def test_default_som_pseudo_labels_are_fitted_on_the_training_rows(data):
    X, Y = data
    clf = HiSSClassifier(tasks=TASKS, max_epochs=1, random_state=0, **PAPER).fit(
        X[:300], Y[:300]
    )
    assert isinstance(clf.pseudo_labeler_, SOMPseudoLabeler)
    assert clf.pseudo_labeler_.labels_.shape == (300,)
    assert set(clf.pseudo_labeler_.silhouette_scores_) == {4, 6, 8, 10}
    assert clf.n_pseudo_classes_ <= clf.pseudo_labeler_.n_clusters_


def test_any_clusterer_can_make_the_pseudo_labels(data):
    X, Y = data
    clusterer = KMeans(n_clusters=3, n_init=2)
    clf = HiSSClassifier(tasks=TASKS, **{**FAST, "pseudo_labels": clusterer})
    clf.fit(X, Y)
    assert clf.n_pseudo_classes_ == 3
    assert clf.pseudo_labeler_ is not clusterer
    assert clf.net_.module_.pseudo_head.out_features == 3


def test_passthrough_reads_the_last_column_and_never_uses_it_as_a_feature(data):
    X, Y = data
    labels = SOMPseudoLabeler(random_state=0).fit_predict(X)
    Xp = np.column_stack([X, labels])
    clf = HiSSClassifier(tasks=TASKS, **{**FAST, "pseudo_labels": "passthrough"})
    clf.fit(Xp, Y)
    assert clf.n_features_in_ == X.shape[1] + 1
    assert clf.n_pseudo_classes_ == len(np.unique(labels))
    shuffled = Xp.copy()
    shuffled[:, -1] = labels[::-1]
    for p, q in zip(clf.predict_proba(Xp), clf.predict_proba(shuffled)):
        np.testing.assert_array_equal(p, q)


def test_passthrough_rejects_a_column_that_is_not_cluster_ids(data):
    X, Y = data
    with pytest.raises(ValueError, match="non-negative integer cluster ids"):
        HiSSClassifier(pseudo_labels="passthrough", max_epochs=1, **PAPER).fit(X, Y)


def test_early_stopping_ends_training_and_restores_the_best_epoch(data):
    X, Y = data
    clf = HiSSClassifier(
        tasks=TASKS,
        scoring="loss",
        n_networks=1,
        patience=3,
        max_epochs=200,
        random_state=0,
    ).fit(X, Y)
    losses = clf.history_[:, "valid_loss"]
    assert clf.n_iter_ < 200
    assert np.argmin(losses) == len(losses) - 4


def test_convergence_warning_when_max_epochs_cuts_early_stopping_short(data):
    X, Y = data
    clf = HiSSClassifier(tasks=TASKS, n_networks=1, max_epochs=2, pseudo_labels=None)
    with pytest.warns(ConvergenceWarning, match="raise max_epochs"):
        clf.fit(X, Y)


def test_verbose_prints_the_epoch_table_only_when_asked(data, capsys):
    X, Y = data
    quiet = dict(tasks=TASKS, max_epochs=2, pseudo_labels=None, **PAPER)
    HiSSClassifier(**quiet, verbose=0).fit(X, Y)
    assert capsys.readouterr().out == ""
    HiSSClassifier(**quiet, verbose=1).fit(X, Y)
    assert "train_loss" in capsys.readouterr().out


class CountEpochs(Callback):
    def initialize(self):
        self.epochs = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs += 1


class InterruptAtEpoch(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            raise KeyboardInterrupt


def test_callbacks_are_passed_to_skorch(data):
    X, Y = data
    clf = HiSSClassifier(
        tasks=TASKS, max_epochs=3, pseudo_labels=None, callbacks=[CountEpochs()]
    )
    clf.fit(X, Y)
    assert dict(clf.net_.callbacks_)["CountEpochs"].epochs == 3


def test_keyboard_interrupt_propagates_out_of_fit(data):
    X, Y = data
    clf = HiSSClassifier(
        tasks=TASKS, max_epochs=5, pseudo_labels=None, callbacks=[InterruptAtEpoch()]
    )
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, Y)
    assert not hasattr(clf, "net_")


def test_pickle_round_trip_predicts_the_same(fitted, data):
    X, _ = data
    restored = pickle.loads(pickle.dumps(fitted))
    for p, q in zip(fitted.predict_proba(X), restored.predict_proba(X)):
        np.testing.assert_array_equal(p, q)


def test_dataframe_input_records_feature_names(data):
    X, Y = data
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = HiSSClassifier(tasks=TASKS, max_epochs=1, pseudo_labels=None, **PAPER)
    clf.fit(frame, Y)
    assert list(clf.feature_names_in_) == list(frame.columns)


def test_f1_thresholds_are_tuned_on_the_validation_split_and_used(data):
    X, Y = data
    params = {**FAST, "decision_threshold": "f1"}
    clf = HiSSClassifier(tasks=TASKS, **params).fit(X, Y)
    proba = clf.predict_proba(X)
    assert np.all((clf.thresholds_ > 0) & (clf.thresholds_ < 1))
    assert not np.allclose(clf.thresholds_, 0.5)
    expected = np.column_stack(
        [p[:, 1] >= thr for p, thr in zip(proba, clf.thresholds_)]
    )
    np.testing.assert_array_equal(clf.predict(X), expected.astype(int))


def test_balanced_class_weight_raises_the_predicted_positive_rate(data):
    X, Y = data
    plain = HiSSClassifier(tasks=TASKS, **FAST).fit(X, Y)
    params = {**FAST, "class_weight": "balanced"}
    balanced = HiSSClassifier(tasks=TASKS, **params).fit(X, Y)
    assert balanced.predict(X).mean() > plain.predict(X).mean()


def test_task_weights_by_name_zero_weight_leaves_a_subtask_untrained(data):
    X, Y = data
    frame = pd.DataFrame(Y, columns=list("pqrst"))
    clf = HiSSClassifier(tasks={"a": 3, "b": 2}, task_weights={"p": 0.0}, **FAST).fit(
        X, frame
    )
    weight = clf.net_.module_.output.weight
    assert weight.shape[0] == 5
    trained = HiSSClassifier(tasks={"a": 3, "b": 2}, **FAST).fit(X, frame)
    auroc_zero = roc_auc_score(Y[:, 0], clf.predict_proba(X)[0][:, 1])
    auroc_full = roc_auc_score(Y[:, 0], trained.predict_proba(X)[0][:, 1])
    assert auroc_zero < auroc_full


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(shared_units=(0,)), "shared_units must be a tuple of positive ints"),
        (dict(task_units="wide"), "task_units must be a tuple of positive ints"),
        (dict(task_weights=[1.0, 2.0]), "one non-negative weight per Y column"),
        (dict(task_weights={"zz": 1.0}), "not columns of Y"),
        (dict(class_weight="even"), "class_weight must be None"),
        (dict(class_weight=[{0: 1.0, 7: 2.0}] * 5), "label 7, which is not"),
        (dict(pseudo_labels="kmeans"), "pseudo_labels must be 'som'"),
        (dict(max_epochs=0), "max_epochs"),
        (dict(decision_threshold=1.5), "decision_threshold"),
        (dict(n_networks=0), "n_networks"),
        (dict(scoring="f1"), "scoring"),
        (dict(n_networks=300), "n_networks=300 trains each network"),
    ],
)
def test_bad_parameters_are_clear_errors(data, params, message):
    X, Y = data
    with pytest.raises(ValueError, match=message):
        HiSSClassifier(**{"max_epochs": 1, "pseudo_labels": None, **params}).fit(X, Y)


def test_default_networks_are_cross_fitted_on_disjoint_validation_folds(data):
    X, Y = data
    clf = HiSSClassifier(tasks=TASKS, n_networks=3, random_state=0).fit(X, Y)
    assert len(clf.networks_) == 3 and clf.net_ is clf.networks_[0]
    valid_rows = [
        sum(
            b["valid_batch_size"]
            for b in net.history[0, "batches"]
            if "valid_loss" in b
        )
        for net in clf.networks_
    ]
    assert sum(valid_rows) == len(X) and min(valid_rows) >= len(X) // 3
    assert clf.n_iter_ == max(len(net.history) for net in clf.networks_)


def test_probabilities_are_the_mean_of_the_networks_and_thresholds_apply(data):
    X, Y = data
    clf = HiSSClassifier(tasks=TASKS, n_networks=3, max_epochs=40, random_state=0)
    clf.fit(X, Y)
    members = []
    for net in clf.networks_:
        single = copy.copy(clf)
        single.networks_ = [net]
        members.append(single.predict_proba(X[:50]))
    for t, proba in enumerate(clf.predict_proba(X[:50])):
        np.testing.assert_allclose(proba, np.mean([m[t] for m in members], axis=0))
    assert np.all((clf.thresholds_ > 0) & (clf.thresholds_ < 1))
    scores = np.column_stack([p[:, 1] for p in clf.predict_proba(X)])
    np.testing.assert_array_equal(clf.predict(X), scores >= clf.thresholds_)


def test_early_stopping_on_roc_auc_restores_the_best_epoch(data):
    X, Y = data
    clf = HiSSClassifier(tasks=TASKS, n_networks=1, patience=4, random_state=0)
    clf.fit(X, Y)
    scores = clf.history_[:, "valid_roc_auc"]
    assert all(0.5 < s <= 1 for s in scores)
    assert np.argmax(scores) == len(scores) - 5


def test_roc_auc_falls_back_to_the_loss_when_no_subtask_can_be_scored(data):
    X, _ = data
    Y = np.zeros((len(X), 2), dtype=int)
    Y[0, 0] = Y[1, 1] = 1  # one positive each: 4 validation rows hold none
    clf = HiSSClassifier(
        n_networks=1, validation_fraction=0.01, max_epochs=50, random_state=0
    )
    with pytest.warns(ConvergenceWarning, match="validation loss"):
        clf.fit(X, Y)
    assert "valid_roc_auc" not in clf.history_[-1]
    assert dict(clf.net_.callbacks_)["StopWhenStalled"].monitor == "valid_loss"


def test_unfitted_parameters_survive_get_and_set_params():
    clf = HiSSClassifier(tasks=TASKS, shared_units=(32,))
    clf.set_params(alpha=0.3, local_units=(8,))
    params = clf.get_params()
    assert params["alpha"] == 0.3 and params["local_units"] == (8,)
    assert params["tasks"] is TASKS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clone(clf)


# -1 is the unlabeled sentinel, so a target of -1 and 1 has one class.
SENTINEL = {
    "check_classifiers_classes": (
        "-1 is the unlabeled sentinel (scikit-learn's convention for unlabeled "
        "data), so a target whose classes are -1 and 1 has one class; pass "
        "unlabeled=None to use -1 as a class."
    ),
}
# With F1-tuned thresholds (the default), predict is not the argmax of
# predict_proba, and the threshold, not a class weight, decides the labels.
TUNED = (
    "decision_threshold='f1' (the default) predicts the positive class when its "
    "probability reaches the threshold tuned for F1, not when it is the larger; "
    "these checks assume argmax. They pass with decision_threshold=0.5 (the "
    "second estimator checked)."
)
EXPECTED_FAILED_CHECKS = {
    "default": {
        **SENTINEL,
        "check_classifiers_train": TUNED,
        "check_classifier_multioutput": TUNED,
        "check_class_weight_classifiers": TUNED,
    },
    "argmax": SENTINEL,
}


def _expected_failures(estimator):
    kind = "default" if estimator.decision_threshold == "f1" else "argmax"
    return EXPECTED_FAILED_CHECKS[kind]


@parametrize_with_checks(
    [
        HiSSClassifier(max_epochs=20, random_state=0),
        HiSSClassifier(max_epochs=20, decision_threshold=0.5, random_state=0),
    ],
    expected_failed_checks=_expected_failures,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_validation_roc_auc_matches_scikit_learn_with_ties_and_multiclass():
    rng = np.random.default_rng(0)
    codes = rng.integers(-1, 3, size=400)  # -1: unlabeled
    probas = np.round(rng.dirichlet([1, 1, 1], size=400), 1)  # many ties
    probas[:, 2] = 1 - probas[:, :2].sum(axis=1)
    labeled = codes >= 0
    expected = roc_auc_score(codes[labeled], probas[labeled], multi_class="ovr")
    assert _subtask_roc_auc(codes, probas) == pytest.approx(expected, abs=1e-12)
    binary = np.where(codes == 2, 1, codes)
    expected = roc_auc_score(binary[labeled], probas[labeled, 1])
    assert _subtask_roc_auc(binary, probas) == pytest.approx(expected, abs=1e-12)
    assert np.isnan(_subtask_roc_auc(np.zeros(5, dtype=int), probas[:5]))


def test_cross_fitting_needs_a_labeled_row_in_every_fold(data):
    X, Y = data
    Y = Y.copy()
    Y[3:] = -1  # 3 labeled rows for 5 networks
    with pytest.raises(ValueError, match="only 3 rows have a label"):
        HiSSClassifier(tasks=TASKS, random_state=0).fit(X, Y)
    clf = HiSSClassifier(tasks=TASKS, n_networks=3, patience=2, random_state=0)
    assert len(clf.fit(X, Y).networks_) == 3  # the fix the message names


def test_one_convergence_warning_per_fit_pointing_at_the_caller(data):
    X, Y = data
    clf = HiSSClassifier(tasks=TASKS, n_networks=3, max_epochs=2, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, Y)
    converge = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    assert len(converge) == 1
    assert "3 of 3 network(s) reached max_epochs=2" in str(converge[0].message)
    assert converge[0].filename == __file__
