"""Tests of the sub-task averaged metrics and scorers."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification, make_multilabel_classification
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from sklearn_hiss import HiSSClassifier
from sklearn_hiss.metrics import (
    UndefinedSubtaskMetricWarning,
    mean_accuracy,
    mean_accuracy_scorer,
    mean_f1,
    mean_f1_scorer,
    mean_roc_auc,
    mean_roc_auc_scorer,
    per_task_scorers,
    per_task_scores,
)

N_TRAIN = 60


@pytest.fixture(scope="module")
def data():
    """Three binary sub-tasks and one three-class sub-task, split train/test."""
    X, Y = make_multilabel_classification(
        n_samples=100, n_features=6, n_classes=3, random_state=0
    )
    rng = np.random.default_rng(0)
    third = np.where(X[:, 0] > np.median(X[:, 0]), 2, rng.integers(0, 2, len(X)))
    return X, np.column_stack([Y, third])


@pytest.fixture(scope="module")
def forest(data):
    X, Y = data
    model = RandomForestClassifier(n_estimators=15, random_state=0)
    return model.fit(X[:N_TRAIN], Y[:N_TRAIN])


def hand_loop(Y_true, Y_pred, probas):
    """sklearn.metrics per sub-task, then the mean: the reference."""
    accuracy, f1, auc = [], [], []
    for t in range(Y_true.shape[1]):
        truth, pred = Y_true[:, t], Y_pred[:, t]
        accuracy.append(accuracy_score(truth, pred))
        if probas[t].shape[1] == 2:
            f1.append(f1_score(truth, pred))
            auc.append(roc_auc_score(truth, probas[t][:, 1]))
        else:
            f1.append(f1_score(truth, pred, average="macro"))
            auc.append(roc_auc_score(truth, probas[t], multi_class="ovr"))
    return np.mean(accuracy), np.mean(f1), np.mean(auc)


def test_means_equal_hand_loop_of_sklearn_metrics(data, forest):
    X, Y = data
    Y_test, pred = Y[N_TRAIN:], forest.predict(X[N_TRAIN:])
    probas = forest.predict_proba(X[N_TRAIN:])
    expected = hand_loop(Y_test, pred, probas)

    got = (
        mean_accuracy(Y_test, pred),
        mean_f1(Y_test, pred, classes=forest.classes_),
        mean_roc_auc(Y_test, probas, classes=forest.classes_),
    )
    assert got == pytest.approx(expected)
    scorers = per_task_scorers()
    from_scorers = [scorers[m](forest, X[N_TRAIN:], Y_test) for m in scorers]
    assert from_scorers == pytest.approx(expected)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_scorers_of_a_default_hiss_model_follow_its_tuned_thresholds(data):
    X, Y = data
    # The defaults (F1-tuned thresholds, cross-fitted networks), two networks.
    model = HiSSClassifier(
        shared_units=(16,),
        local_units=(8,),
        max_epochs=20,
        patience=3,
        n_networks=2,
        pseudo_labels=None,
        random_state=0,
    ).fit(X[:N_TRAIN], Y[:N_TRAIN])
    X_test, Y_test = X[N_TRAIN:], Y[N_TRAIN:]
    pred, probas = model.predict(X_test), model.predict_proba(X_test)
    binary = [t for t, p in enumerate(probas) if p.shape[1] == 2]
    at_half = np.column_stack([probas[t][:, 1] > 0.5 for t in binary])
    assert (pred[:, binary] != at_half).any()  # the thresholds moved something

    expected = hand_loop(Y_test, pred, probas)
    scorers = per_task_scorers()
    from_scorers = [scorers[m](model, X_test, Y_test) for m in scorers]
    assert from_scorers == pytest.approx(expected)


def test_single_name_scorers_equal_the_scorer_dict(data, forest):
    X, Y = data
    scorers = per_task_scorers()
    singles = {
        "accuracy": mean_accuracy_scorer,
        "f1": mean_f1_scorer,
        "roc_auc": mean_roc_auc_scorer,
    }
    for name, scorer in singles.items():
        expected = scorers[name](forest, X[N_TRAIN:], Y[N_TRAIN:])
        assert scorer(forest, X[N_TRAIN:], Y[N_TRAIN:]) == pytest.approx(expected)


def test_2d_positive_scores_equal_per_class_probabilities(data, forest):
    X, Y = data
    Y_test = Y[N_TRAIN:, :3]
    probas = forest.predict_proba(X[N_TRAIN:])[:3]
    positive = np.column_stack([p[:, 1] for p in probas])
    expected = mean_roc_auc(Y_test, probas, classes=forest.classes_[:3])
    assert mean_roc_auc(Y_test, positive) == pytest.approx(expected)
    assert mean_roc_auc(Y_test, probas) == pytest.approx(expected)


def with_unlabeled(Y, marker, rng):
    """Y as a DataFrame with about a fifth of the entries replaced by `marker`."""
    hidden = rng.random(Y.shape) < 0.2
    frame = pd.DataFrame(Y, columns=["a", "b", "c", "d"])
    if marker is pd.NA:
        frame = frame.astype("Int64")
    else:
        frame = frame.astype(object)
    frame = frame.mask(hidden, marker)
    return frame, hidden


@pytest.mark.parametrize("marker", [-1, np.nan, None, pd.NA], ids=repr)
def test_unlabeled_entries_are_skipped(data, forest, marker):
    X, Y = data
    Y_test, pred = Y[N_TRAIN:], forest.predict(X[N_TRAIN:])
    probas = forest.predict_proba(X[N_TRAIN:])
    frame, hidden = with_unlabeled(Y_test, marker, np.random.default_rng(1))
    assert hidden.any(axis=0).all()

    expected = []
    for t in range(Y.shape[1]):
        keep = ~hidden[:, t]
        expected.append(
            hand_loop(Y_test[keep, t : t + 1], pred[keep, t : t + 1], [probas[t][keep]])
        )
    got = (
        mean_accuracy(frame, pred),
        mean_f1(frame, pred, classes=forest.classes_),
        mean_roc_auc(frame, probas, classes=forest.classes_),
    )
    assert got == pytest.approx(np.mean(expected, axis=0))


def test_unlabeled_entries_are_skipped_by_scorers(data, forest):
    X, Y = data
    frame, hidden = with_unlabeled(Y[N_TRAIN:], pd.NA, np.random.default_rng(2))
    table = per_task_scores(forest, X[N_TRAIN:], frame)
    assert table["n_labeled"].tolist() == (~hidden).sum(axis=0).tolist()
    scorers = per_task_scorers()
    got = [scorers[m](forest, X[N_TRAIN:], frame) for m in scorers]
    assert got == pytest.approx(table[["accuracy", "f1", "roc_auc"]].mean().tolist())


def test_custom_unlabeled_marker_and_none():
    Y_true = np.array([["yes", "?"], ["no", "no"], ["?", "yes"], ["yes", "yes"]])
    Y_pred = np.array([["yes", "no"], ["yes", "no"], ["no", "no"], ["yes", "yes"]])
    assert mean_accuracy(Y_true, Y_pred, unlabeled="?") == pytest.approx(
        np.mean([2 / 3, 2 / 3])
    )
    assert mean_accuracy(Y_true, Y_pred, unlabeled=None) == pytest.approx(0.5)
    assert mean_accuracy([[1, -1]], [[1, 0]], unlabeled=None) == pytest.approx(0.5)


def test_one_class_subtask_is_skipped_with_a_warning(data, forest):
    X, Y = data
    Y_test = Y[N_TRAIN:].copy()
    Y_test[:, 1] = 0
    probas = forest.predict_proba(X[N_TRAIN:])
    with pytest.warns(
        UndefinedSubtaskMetricWarning,
        match=r"AUROC is undefined for 1 of 4 sub-tasks.*1 \(its 40 labeled entries "
        "all hold the class 0",
    ):
        score = mean_roc_auc(Y_test, probas, classes=forest.classes_)
    others = [0, 2, 3]
    expected = mean_roc_auc(Y_test[:, others], [probas[t] for t in others])
    assert score == pytest.approx(expected)


def test_every_subtask_undefined_gives_nan_with_a_warning():
    Y_true = np.zeros((5, 2), dtype=int)
    with pytest.warns(UndefinedSubtaskMetricWarning, match="every sub-task .*NaN"):
        score = mean_roc_auc(Y_true, np.random.default_rng(0).random((5, 2)))
    assert np.isnan(score)
    with pytest.warns(UndefinedSubtaskMetricWarning, match="F1 is undefined for every"):
        assert np.isnan(mean_f1(Y_true, Y_true))
    with pytest.warns(UndefinedSubtaskMetricWarning, match="no labeled entries"):
        assert np.isnan(mean_accuracy(np.full((3, 2), -1), np.zeros((3, 2))))


def test_f1_of_subtask_without_positive_is_skipped(data):
    Y_true = np.array([[1, 0], [0, 0], [1, 0], [0, 0]])
    Y_pred = np.array([[1, 0], [1, 0], [1, 0], [0, 0]])
    with pytest.warns(UndefinedSubtaskMetricWarning, match="1 of 2 sub-tasks"):
        score = mean_f1(Y_true, Y_pred, classes=[[0, 1], [0, 1]])
    assert score == pytest.approx(f1_score(Y_true[:, 0], Y_pred[:, 0]))
    # A false positive makes F1 defined again, and zero.
    Y_pred[0, 1] = 1
    assert mean_f1(Y_true, Y_pred) == pytest.approx(
        np.mean([f1_score(Y_true[:, 0], Y_pred[:, 0]), 0.0])
    )


def test_perfect_predictor_scores_one_and_constant_scores_half(data):
    _, Y = data
    Y = Y[:, :3]
    perfect = [np.column_stack([1 - Y[:, t], Y[:, t]]) for t in range(3)]
    assert mean_roc_auc(Y, perfect) == pytest.approx(1.0)
    assert mean_accuracy(Y, Y) == pytest.approx(1.0)
    assert mean_f1(Y, Y) == pytest.approx(1.0)
    assert mean_roc_auc(Y, np.full(Y.shape, 0.3)) == pytest.approx(0.5)
    assert mean_roc_auc(Y, 1.0 - Y) == pytest.approx(0.0)


def one_class_folds(Y):
    """Folds where sub-task 1's positives all sit in the first test fold."""
    Y = Y.copy()
    first = np.arange(len(Y)) < len(Y) // 3
    Y[~first, 1] = 0
    Y[first, 1] = np.arange(first.sum()) % 2
    cv = [(np.flatnonzero(~first), np.flatnonzero(first))]
    cv += [(np.flatnonzero(first), np.flatnonzero(~first))]
    return Y, cv


@pytest.mark.parametrize(
    "model",
    [
        RandomForestClassifier(n_estimators=10, random_state=0),
        ExtraTreesClassifier(n_estimators=10, random_state=0),
        KNeighborsClassifier(n_neighbors=3),
    ],
    ids=["forest", "extra-trees", "neighbors"],
)
def test_cross_validate_with_one_class_training_fold(data, model):
    X, Y = data
    Y, cv = one_class_folds(Y[:, :3])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedSubtaskMetricWarning)
        result = cross_validate(
            model, X, Y, cv=cv, scoring=per_task_scorers(), error_score="raise"
        )
    for key in ("test_accuracy", "test_f1", "test_roc_auc"):
        assert np.isfinite(result[key]).all()

    # Trained on one class of sub-task 1, which scores 0.5: never ranks a positive.
    train, test = cv[0]
    fitted = model.fit(X[train], Y[train])
    assert fitted.predict_proba(X[test])[1].shape == (len(test), 1)
    table = per_task_scores(fitted, X[test], Y[test])
    assert table.loc[1, "roc_auc"] == pytest.approx(0.5)


def unseen_class_folds(Y):
    """A three-class sub-task whose class 2 appears only in the first test fold."""
    first = np.arange(len(Y)) < len(Y) // 3
    Y = Y.copy()
    Y[:, -1] = np.where(first & (Y[:, -1] == 2), 2, Y[:, -1] % 2)
    Y[first & (np.arange(len(Y)) % 3 == 0), -1] = 2
    cv = [(np.flatnonzero(~first), np.flatnonzero(first))]
    return Y, cv


@pytest.mark.parametrize(
    "model",
    [
        RandomForestClassifier(n_estimators=10, random_state=0),
        KNeighborsClassifier(n_neighbors=3),
        MultiOutputClassifier(LogisticRegression()),
        make_pipeline(StandardScaler(), MultiOutputClassifier(LogisticRegression())),
    ],
    ids=["forest", "neighbors", "multi-output-logistic", "pipeline"],
)
def test_class_unseen_in_training_scores_zero(data, model):
    X, Y = data
    Y, cv = unseen_class_folds(Y)
    result = cross_validate(
        model, X, Y, cv=cv, scoring=per_task_scorers(), error_score="raise"
    )
    assert np.isfinite(result["test_roc_auc"]).all()

    train, test = cv[0]
    model.fit(X[train], Y[train])
    proba = model.predict_proba(X[test])[-1]
    assert proba.shape == (len(test), 2)
    truth = Y[test, -1]
    padded = np.column_stack([proba, np.zeros(len(test))])
    expected = roc_auc_score(truth, padded, multi_class="ovr", labels=[0, 1, 2])
    table = per_task_scores(model, X[test], Y[test])
    assert table["roc_auc"].iloc[-1] == pytest.approx(expected)


def test_grid_search_refits_on_roc_auc(data):
    X, Y = data
    search = GridSearchCV(
        RandomForestClassifier(n_estimators=10, random_state=0),
        {"max_depth": [1, 4]},
        scoring=per_task_scorers(),
        refit="roc_auc",
        cv=3,
        error_score="raise",
    )
    search.fit(X, Y)
    means = search.cv_results_["mean_test_roc_auc"]
    assert np.isfinite(means).all()
    assert search.best_score_ == pytest.approx(means.max())
    assert search.best_params_ == search.cv_results_["params"][np.argmax(means)]


class PerColumnForest(ClassifierMixin, BaseEstimator):
    """One forest per column, so that columns may hold labels of different types.

    Follows the output conventions of HiSSClassifier: predict gives (n, T) objects,
    predict_proba a list of (n, k_t) arrays, classes_ a list.
    """

    def fit(self, X, Y):
        Y = pd.DataFrame(Y)
        self.forests_ = [
            RandomForestClassifier(n_estimators=10, random_state=0).fit(X, Y[c])
            for c in Y.columns
        ]
        self.classes_ = [forest.classes_ for forest in self.forests_]
        return self

    def predict(self, X):
        return np.column_stack([f.predict(X).astype(object) for f in self.forests_])

    def predict_proba(self, X):
        return [forest.predict_proba(X) for forest in self.forests_]


def test_string_bool_and_mixed_labels_score_like_integers(data):
    X, Y = data
    frame = pd.DataFrame(
        {
            "word": np.where(Y[:, 0] == 1, "yes", "no"),
            "flag": Y[:, 1].astype(bool),
            "count": Y[:, 2],
            "kind": np.array(["bird", "cat", "dog"])[Y[:, 3]],
        }
    )
    model = PerColumnForest().fit(X[:N_TRAIN], frame[:N_TRAIN])
    table = per_task_scores(model, X[N_TRAIN:], frame[N_TRAIN:])
    as_ints = PerColumnForest().fit(X[:N_TRAIN], Y[:N_TRAIN])
    reference = per_task_scores(as_ints, X[N_TRAIN:], Y[N_TRAIN:])

    assert list(table.index) == ["word", "flag", "count", "kind"]
    np.testing.assert_allclose(table.to_numpy(float), reference.to_numpy(float))
    assert table.loc["word", "positive_rate"] == pytest.approx(Y[N_TRAIN:, 0].mean())
    scorers = per_task_scorers()
    got = [scorers[m](model, X[N_TRAIN:], frame[N_TRAIN:]) for m in scorers]
    assert got == pytest.approx(reference[["accuracy", "f1", "roc_auc"]].mean())


@pytest.mark.parametrize("kind", ["str", "bool"])
def test_string_and_bool_labels_with_a_multi_output_forest(data, kind):
    X, Y = data
    labels = np.where(Y[:, :3] == 1, "yes", "no") if kind == "str" else Y[:, :3] == 1
    forest = RandomForestClassifier(n_estimators=10, random_state=0)
    as_labels = forest.fit(X[:N_TRAIN], labels[:N_TRAIN])
    table = per_task_scores(as_labels, X[N_TRAIN:], labels[N_TRAIN:])
    as_ints = RandomForestClassifier(n_estimators=10, random_state=0)
    reference = per_task_scores(
        as_ints.fit(X[:N_TRAIN], Y[:N_TRAIN, :3]), X[N_TRAIN:], Y[N_TRAIN:, :3]
    )
    np.testing.assert_allclose(table.to_numpy(float), reference.to_numpy(float))


def test_list_input_with_mixed_column_types():
    Y_true = [[1, "a", True], [0, "b", False], [1, "b", -1]]
    Y_pred = [[1, "a", False], [1, "b", False], [1, "a", True]]
    expected = np.mean([2 / 3, 2 / 3, 1 / 2])
    assert mean_accuracy(Y_true, Y_pred) == pytest.approx(expected)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_one_dimensional_target_with_ordinary_classifier(n_classes):
    X, y = make_classification(
        n_samples=90, n_features=5, n_informative=3, n_classes=n_classes, random_state=0
    )
    model = LogisticRegression().fit(X[:60], y[:60])
    X_test, y_test = X[60:], y[60:]
    pred, proba = model.predict(X_test), model.predict_proba(X_test)
    average = "binary" if n_classes == 2 else "macro"
    auc = roc_auc_score(
        y_test, proba[:, 1] if n_classes == 2 else proba, multi_class="ovr"
    )
    expected = [
        accuracy_score(y_test, pred),
        f1_score(y_test, pred, average=average),
        auc,
    ]

    scorers = per_task_scorers()
    got = [scorers[m](model, X_test, y_test) for m in scorers]
    assert got == pytest.approx(expected)
    series = pd.Series(y_test, name="target")
    assert per_task_scores(model, X_test, series).index.tolist() == ["target"]


def test_decision_function_serves_when_there_are_no_probabilities(data):
    X, Y = data
    Y = Y[:, :3]
    model = make_pipeline(StandardScaler(), MultiOutputClassifier(LinearSVC()))
    model.fit(X[:N_TRAIN], Y[:N_TRAIN])
    X_test = model[0].transform(X[N_TRAIN:])
    members = model[-1].estimators_
    expected = np.mean(
        [
            roc_auc_score(Y[N_TRAIN:, t], member.decision_function(X_test))
            for t, member in enumerate(members)
        ]
    )
    assert mean_roc_auc_scorer(model, X[N_TRAIN:], Y[N_TRAIN:]) == pytest.approx(
        expected
    )


class PredictOnly(ClassifierMixin, BaseEstimator):
    """A multi-output classifier with predict and nothing to rank by."""

    def fit(self, X, Y):
        self.classes_ = [np.unique(column) for column in np.asarray(Y).T]
        return self

    def predict(self, X):
        return np.zeros((len(X), len(self.classes_)), dtype=int)


def test_estimator_without_scores_gives_nan_roc_auc_with_a_warning(data):
    X, Y = data
    model = PredictOnly().fit(X, Y)
    with pytest.warns(UndefinedSubtaskMetricWarning, match="neither predict_proba"):
        score = per_task_scorers()["roc_auc"](model, X, Y)
    assert np.isnan(score)
    assert per_task_scorers()["accuracy"](model, X, Y) == pytest.approx(np.mean(Y == 0))


def test_per_task_scores_table(data, forest):
    X, Y = data
    frame = pd.DataFrame(Y[N_TRAIN:], columns=["jan", "feb", "mar", "kind"])
    table = per_task_scores(forest, X[N_TRAIN:], frame)
    assert list(table.columns) == [
        "accuracy",
        "f1",
        "roc_auc",
        "n_labeled",
        "positive_rate",
    ]
    assert list(table.index) == ["jan", "feb", "mar", "kind"]
    assert (table["n_labeled"] == len(frame)).all()
    np.testing.assert_allclose(table["positive_rate"][:3], frame.iloc[:, :3].mean())
    assert np.isnan(table.loc["kind", "positive_rate"])


def test_scorers_pickle(data, forest):
    X, Y = data
    scorers = pickle.loads(pickle.dumps(per_task_scorers(unlabeled="?")))
    assert scorers["roc_auc"].unlabeled == "?"
    expected = per_task_scorers()["roc_auc"](forest, X[N_TRAIN:], Y[N_TRAIN:])
    assert scorers["roc_auc"](forest, X[N_TRAIN:], Y[N_TRAIN:]) == expected


def test_shape_mismatch_errors():
    Y = np.zeros((4, 2))
    with pytest.raises(ValueError, match="Y_pred must have .* 4 rows and 2 columns"):
        mean_accuracy(Y, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="Y_score must be a list of 2 score arrays"):
        mean_roc_auc(Y, [np.zeros(4)])
    with pytest.raises(ValueError, match="classes must hold one array .* 2 in all"):
        mean_roc_auc(Y, np.zeros((4, 2)), classes=[[0, 1]])
    with pytest.raises(ValueError, match="Y_true must be 1-D .* 3 dimensions"):
        mean_accuracy(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="sub-task 0 have 3 columns but 2 classes"):
        mean_roc_auc([0, 1, 1], np.eye(3))


def test_marker_learned_as_a_class_stays_out_of_the_labels(data):
    # A baseline that cannot mask trains on -1 as if it were a class.
    X, Y = data
    Y = Y[:, :2].copy()
    Y[np.random.default_rng(3).random(Y.shape) < 0.2] = -1
    forest = RandomForestClassifier(n_estimators=10, random_state=0)
    forest.fit(X[:N_TRAIN], Y[:N_TRAIN])
    assert forest.classes_[0].tolist() == [-1, 0, 1]
    Y_test, pred = Y[N_TRAIN:], forest.predict(X[N_TRAIN:])
    probas = forest.predict_proba(X[N_TRAIN:])

    table = per_task_scores(forest, X[N_TRAIN:], Y_test)
    for t in range(2):
        keep = Y_test[:, t] != -1
        truth = Y_test[keep, t]
        f1 = f1_score(truth, pred[keep, t], labels=[1], average="micro")
        auc = roc_auc_score(truth == 1, probas[t][keep, 2])
        assert table.loc[t, ["f1", "roc_auc"]].tolist() == pytest.approx([f1, auc])
        assert table.loc[t, "positive_rate"] == pytest.approx(np.mean(truth == 1))
