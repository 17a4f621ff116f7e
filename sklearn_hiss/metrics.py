"""Metrics averaged over sub-tasks, and scorers for cross-validation and grid search.

A multi-task target ``Y`` holds one column per sub-task. Each metric here is computed
per sub-task on that sub-task's labeled entries only, then averaged with equal weight
over the sub-tasks where it is defined: the mean over sub-tasks that the HiSS paper
reports for accuracy, F1 and AUROC.

Conventions shared by every function of this module:

- An entry of the true target is unlabeled when it is NaN, None or ``pandas.NA``, or
  when it equals the sentinel ``unlabeled`` (default -1, scikit-learn's mark for
  unlabeled data). Unlabeled entries are left out of that sub-task's metrics.
- A binary sub-task is one with at most two labels among the known classes, the true
  labels and the predictions; the unlabeled marker never counts as a label, even for
  an estimator that was trained on it as a class. Its positive class is the larger
  label (1, True, or the later string); a lone label counts as the positive class only
  when it equals 1.
- F1 of a binary sub-task is the F1 of its positive class. F1 of a multi-class
  sub-task is the unweighted mean of the per-class F1 over the classes found in its
  true labels or predictions (macro F1).
- AUROC of a multi-class sub-task is the one-vs-rest macro AUROC over the classes found
  in its true labels. A class the estimator never saw in training has score 0.
- A sub-task where a metric is undefined (no labeled entries; one class only, for
  AUROC; no positive entry in the truth nor in the predictions, for binary F1; no score
  from the estimator, for AUROC) is left out of the mean with an
  :class:`UndefinedSubtaskMetricWarning`. When no sub-task can be scored, the mean is
  NaN, with the same warning.
"""

import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics import roc_auc_score
from sklearn.multioutput import MultiOutputClassifier
from sklearn.pipeline import Pipeline

__all__ = [
    "UndefinedSubtaskMetricWarning",
    "mean_accuracy",
    "mean_accuracy_scorer",
    "mean_f1",
    "mean_f1_scorer",
    "mean_roc_auc",
    "mean_roc_auc_scorer",
    "per_task_scorers",
    "per_task_scores",
]

_DISPLAY_NAMES = {"accuracy": "accuracy", "f1": "F1", "roc_auc": "AUROC"}


class UndefinedSubtaskMetricWarning(UserWarning):
    """Warning that a metric is undefined for some sub-tasks, left out of the mean.

    Issued when a sub-task has no labeled entries, when its labeled entries hold a
    single class (AUROC), when neither its true labels nor the predictions hold the
    positive class (binary F1), or when the estimator gives no scores (AUROC). When
    every sub-task is left out, the mean is NaN and the message says so.

    Examples
    --------
    >>> import warnings
    >>> from sklearn_hiss.metrics import UndefinedSubtaskMetricWarning, mean_roc_auc
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     score = mean_roc_auc([[0, 1], [0, 0]], [[0.2, 0.9], [0.4, 0.1]])
    >>> score
    1.0
    >>> caught[0].category is UndefinedSubtaskMetricWarning
    True
    """


class _PositiveClass:
    """Key of a score column that belongs to the positive class, whatever its label."""

    def __repr__(self):
        return "<positive class>"


_POSITIVE = _PositiveClass()


# --------------------------------------------------------------------------------------
# Targets, labels and masks


def _target_columns(Y, param):
    """Split a target into sub-task names, 1-D object columns and a 1-D flag."""
    if sp.issparse(Y):
        Y = Y.toarray()
    if isinstance(Y, pd.DataFrame):
        columns = [Y.iloc[:, j].to_numpy(dtype=object) for j in range(Y.shape[1])]
        return list(Y.columns), columns, False
    if isinstance(Y, pd.Series):
        return [0 if Y.name is None else Y.name], [Y.to_numpy(dtype=object)], True
    array = np.asarray(Y, dtype=object)
    if array.ndim == 1:
        return [0], [array], True
    if array.ndim != 2:
        raise ValueError(
            f"{param} must be 1-D (one sub-task) or 2-D (one column per sub-task); "
            f"got an array with {array.ndim} dimensions. Reshape it to "
            "(n_samples, n_subtasks)."
        )
    return list(range(array.shape[1])), list(array.T), False


def _prediction_columns(Y_pred, n_samples, n_tasks):
    """Columns of the predictions, checked against the shape of the true target."""
    _, columns, _ = _target_columns(Y_pred, "Y_pred")
    n_rows = len(columns[0]) if columns else 0
    if len(columns) != n_tasks or n_rows != n_samples:
        raise ValueError(
            f"Y_pred must have one row per sample and one column per sub-task of "
            f"Y_true, that is {n_samples} rows and {n_tasks} columns; got {n_rows} "
            f"rows and {len(columns)} columns. Pass the predictions for the same "
            "samples and sub-tasks."
        )
    return columns


def _labeled_mask(column, unlabeled):
    """True where an entry holds a label: not missing and not the sentinel."""
    labeled = ~np.asarray(pd.isna(column), dtype=bool)
    if unlabeled is not None and labeled.any():
        labeled[labeled] = ~np.asarray(column[labeled] == unlabeled, dtype=bool)
    return labeled


def _sorted_labels(labels):
    """Sort labels; labels of mixed types fall back to sorting by type and text."""
    try:
        return sorted(labels)
    except TypeError:
        return sorted(labels, key=lambda label: (type(label).__name__, str(label)))


def _labels(task, *columns, known=True):
    """Sorted distinct labels among the given columns and, if `known`, the classes.

    Missing values and the unlabeled marker are never labels, even where an
    estimator trained on them as a class or predicts them.
    """
    columns = columns + ((task.classes,) if known and task.classes is not None else ())
    found = np.concatenate(columns) if columns else np.array([], dtype=object)
    found = found[_labeled_mask(found, task.unlabeled)]
    return _sorted_labels(set(found.tolist()))


def _positive_label(labels):
    """The positive class of a binary sub-task, or None when it is absent."""
    if len(labels) == 2:
        return labels[1]
    if len(labels) == 1 and not isinstance(labels[0], str) and labels[0] == 1:
        return labels[0]
    return None


def _equal(values, label):
    """Elementwise equality as a boolean array, safe for labels of any type."""
    return np.asarray(values == label, dtype=bool)


# --------------------------------------------------------------------------------------
# Metrics of one sub-task: each returns (value, reason it is undefined or None)


class _Subtask(NamedTuple):
    """One sub-task's labeled entries and what the estimator made of them."""

    name: object
    truth: np.ndarray
    pred: np.ndarray | None
    score: np.ndarray | None
    classes: np.ndarray | None  # labels of the score columns, in order
    unlabeled: object


def _accuracy(task):
    if task.truth.size == 0:
        return np.nan, "it has no labeled entries"
    return float(np.mean(_equal(task.truth, task.pred))), None


def _class_f1(truth, pred, label):
    """F1 of one class, NaN when the class is in neither the truth nor predictions."""
    in_truth, in_pred = _equal(truth, label), _equal(pred, label)
    total = in_truth.sum() + in_pred.sum()
    return 2.0 * np.sum(in_truth & in_pred) / total if total else np.nan


def _f1(task):
    truth, pred = task.truth, task.pred
    if truth.size == 0:
        return np.nan, "it has no labeled entries"
    labels = _labels(task, truth, pred)
    if len(labels) > 2:
        present = _labels(task, truth, pred, known=False)
        return float(np.mean([_class_f1(truth, pred, c) for c in present])), None

    positive = _positive_label(labels)
    value = np.nan if positive is None else _class_f1(truth, pred, positive)
    if np.isnan(value):
        return np.nan, "neither its labels nor the predictions hold the positive class"
    return float(value), None


def _score_columns(score, classes, present, name):
    """Map each column of a sub-task's scores to the class it scores."""
    if score.ndim == 1:
        key = classes[-1] if classes is not None and len(classes) == 2 else _POSITIVE
        return {key: score}
    labels = present if classes is None else classes.tolist()
    if len(labels) != score.shape[1]:
        raise ValueError(
            f"The scores of sub-task {name!r} have {score.shape[1]} columns but "
            f"{len(labels)} classes are known for it ({labels}). Pass `classes`, "
            "the labels of the score columns of each sub-task in order."
        )
    return dict(zip(labels, score.T))


def _class_score(columns, label, labels):
    """Scores of one class; a class without a column scores 0 (never predicted)."""
    if label in columns:
        return columns[label]
    if len(labels) == 2 and label == labels[1] and _POSITIVE in columns:
        return columns[_POSITIVE]
    if len(labels) == 2 and labels[0] in columns:
        return -columns[labels[0]]
    return np.zeros(len(next(iter(columns.values()))))


def _roc_auc(task):
    truth, score = task.truth, task.score
    if truth.size == 0:
        return np.nan, "it has no labeled entries"
    if score is None:
        return np.nan, "the estimator has neither predict_proba nor decision_function"
    present = _labels(task, truth, known=False)
    if len(present) < 2:
        return np.nan, (
            f"its {truth.size} labeled entries all hold the class {present[0]!r}"
        )
    if not np.all(np.isfinite(score)):
        return np.nan, "its scores are not all finite"

    columns = _score_columns(score, task.classes, present, task.name)
    labels = _labels(task, truth)
    targets = labels[1:] if len(labels) == 2 else present
    values = [
        roc_auc_score(_equal(truth, c), _class_score(columns, c, labels))
        for c in targets
    ]
    return float(np.mean(values)), None


def _positive_rate(task):
    """Share of labeled entries in the positive class; NaN when multi-class."""
    truth = task.truth
    labels = _labels(task, truth)
    if truth.size == 0 or len(labels) > 2:
        return np.nan
    positive = _positive_label(labels)
    return 0.0 if positive is None else float(np.mean(_equal(truth, positive)))


_METRICS = {"accuracy": _accuracy, "f1": _f1, "roc_auc": _roc_auc}


# --------------------------------------------------------------------------------------
# Over sub-tasks


def _classes_list(classes, n_tasks):
    """One array of class labels (or None) per sub-task."""
    if classes is None:
        return [None] * n_tasks
    if n_tasks == 1 and all(np.ndim(c) == 0 and c is not None for c in classes):
        classes = [classes]
    if len(classes) != n_tasks:
        raise ValueError(
            f"classes must hold one array of labels per sub-task, {n_tasks} in all; "
            f"got {len(classes)}. Pass a list with the labels of the score columns "
            "of each sub-task, or None."
        )
    return [None if c is None else np.asarray(c, dtype=object).ravel() for c in classes]


def _score_list(Y_score, n_samples, n_tasks):
    """Per-sub-task float score arrays from a list or a 2-D array."""
    if isinstance(Y_score, (list, tuple)) and len(Y_score) == n_tasks:
        if all(np.ndim(s) >= 1 and len(s) == n_samples for s in Y_score):
            return [np.asarray(s, dtype=float) for s in Y_score]
    try:
        array = np.asarray(Y_score, dtype=float)
    except (TypeError, ValueError):
        array = None
    if array is not None and n_tasks == 1 and array.ndim in (1, 2):
        if len(array) == n_samples:
            return [array]
    if array is not None and array.shape == (n_samples, n_tasks):
        return list(array.T)
    raise ValueError(
        f"Y_score must be a list of {n_tasks} score arrays with {n_samples} rows "
        f"each, or an array of shape ({n_samples}, {n_tasks}) holding the score of "
        f"the positive class of each sub-task; got a {type(Y_score).__name__} that "
        "is neither. Pass the output of predict_proba."
    )


def _evaluate(Y_true, metrics, *, Y_pred=None, Y_score=None, classes=None, unlabeled):
    """Per-sub-task metrics as a DataFrame, and the reasons of undefined values."""
    names, truths, _ = _target_columns(Y_true, "Y_true")
    n_samples = len(truths[0]) if truths else 0
    preds = [None] * len(names)
    if Y_pred is not None:
        preds = _prediction_columns(Y_pred, n_samples, len(names))
    scores = [None] * len(names)
    if Y_score is not None:
        scores = _score_list(Y_score, n_samples, len(names))
    classes = _classes_list(classes, len(names))

    rows, reasons = [], {metric: [] for metric in metrics}
    for name, truth, pred, score, known in zip(names, truths, preds, scores, classes):
        labeled = _labeled_mask(truth, unlabeled)
        task = _Subtask(
            name,
            truth[labeled],
            _rows(pred, labeled),
            _rows(score, labeled),
            known,
            unlabeled,
        )
        rows.append(_subtask_row(task, metrics, reasons))
    return pd.DataFrame(rows, index=pd.Index(names, name="sub_task")), reasons


def _rows(values, labeled):
    return None if values is None else values[labeled]


def _subtask_row(task, metrics, reasons):
    """Metrics of one sub-task; the reasons of undefined values go to `reasons`."""
    row = {}
    for metric in metrics:
        row[metric], reason = _METRICS[metric](task)
        if reason is not None:
            reasons[metric].append(f"{task.name!r} ({reason})")
    row["n_labeled"] = int(task.truth.size)
    row["positive_rate"] = _positive_rate(task)
    return row


def _warn_undefined(metric, reasons, n_tasks, all_undefined, stacklevel):
    """One warning listing the sub-tasks where `metric` is undefined."""
    if not reasons and not all_undefined:
        return
    shown = _DISPLAY_NAMES[metric]
    if all_undefined:
        head = f"{shown} is undefined for every sub-task ({n_tasks}); the score is NaN"
    else:
        head = (
            f"{shown} is undefined for {len(reasons)} of {n_tasks} sub-tasks, left "
            "out of the mean"
        )
    detail = ": " + "; ".join(reasons) if reasons else ""
    warnings.warn(
        f"{head}{detail}.", UndefinedSubtaskMetricWarning, stacklevel=stacklevel + 1
    )


def _mean_over_subtasks(table, reasons, metric, stacklevel):
    """Mean of one metric over the sub-tasks where it is defined, else NaN."""
    values = table[metric].to_numpy(dtype=float)
    defined = values[np.isfinite(values)]
    _warn_undefined(
        metric, reasons[metric], len(values), defined.size == 0, stacklevel + 1
    )
    return float(defined.mean()) if defined.size else float("nan")


def mean_accuracy(Y_true, Y_pred, *, unlabeled=-1):
    """Accuracy per sub-task on its labeled entries, averaged over sub-tasks.

    Parameters
    ----------
    Y_true : array-like or DataFrame of shape (n_samples, n_subtasks) or (n_samples,)
        True labels, one column per sub-task. Labels may be int, bool or str and
        differ in type between columns. NaN, None, ``pandas.NA`` and `unlabeled`
        mark unlabeled entries.
    Y_pred : array-like of the same shape as `Y_true`
        Predicted labels, as returned by ``predict``.
    unlabeled : int, str or None, default=-1
        Label value that marks an unlabeled entry, in addition to missing values.
        None means that only missing values are unlabeled.

    Returns
    -------
    score : float
        Mean over sub-tasks of the share of correct predictions among the labeled
        entries. A sub-task without labeled entries is left out of the mean with an
        :class:`UndefinedSubtaskMetricWarning`; NaN when no sub-task has any.

    See Also
    --------
    mean_f1 : F1 averaged over sub-tasks.
    mean_roc_auc : AUROC averaged over sub-tasks.
    per_task_scores : the metrics of each sub-task as a table.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn_hiss.metrics import mean_accuracy
    >>> X, Y = make_multilabel_classification(n_samples=80, n_classes=3,
    ...                                       random_state=0)
    >>> forest = RandomForestClassifier(n_estimators=20, random_state=0)
    >>> forest = forest.fit(X[:60], Y[:60])
    >>> score = mean_accuracy(Y[60:], forest.predict(X[60:]))
    >>> bool(0.5 < score <= 1.0)
    True

    Unlabeled entries (here -1) are left out of their sub-task:

    >>> mean_accuracy([[1, 0], [0, -1]], [[1, 1], [1, 0]])
    0.25
    """
    table, reasons = _evaluate(
        Y_true, ("accuracy",), Y_pred=Y_pred, unlabeled=unlabeled
    )
    return _mean_over_subtasks(table, reasons, "accuracy", stacklevel=2)


def mean_f1(Y_true, Y_pred, *, classes=None, unlabeled=-1):
    """F1 per sub-task on its labeled entries, averaged over sub-tasks.

    A binary sub-task scores the F1 of its positive class, the larger of its two
    labels (1, True, or the later string in sorted order). A multi-class sub-task
    scores the macro F1: the unweighted mean of the per-class F1 over the classes
    present in its true labels or predictions.

    Parameters
    ----------
    Y_true : array-like or DataFrame of shape (n_samples, n_subtasks) or (n_samples,)
        True labels, one column per sub-task. NaN, None, ``pandas.NA`` and
        `unlabeled` mark unlabeled entries.
    Y_pred : array-like of the same shape as `Y_true`
        Predicted labels, as returned by ``predict``.
    classes : list of array-like or None, default=None
        The labels of each sub-task (an estimator's ``classes_``). They tell a binary
        sub-task from a multi-class one, and the positive class, when a test set
        shows fewer labels than the sub-task has. None: only the labels seen in
        `Y_true` and `Y_pred`, where a lone label counts as positive only if it is 1.
    unlabeled : int, str or None, default=-1
        Label value that marks an unlabeled entry, in addition to missing values.

    Returns
    -------
    score : float
        Mean of F1 over the sub-tasks where it is defined. A binary sub-task whose
        positive class appears neither in the truth nor in the predictions, or one
        without labeled entries, is left out with an
        :class:`UndefinedSubtaskMetricWarning`; NaN when every sub-task is.

    See Also
    --------
    mean_accuracy : accuracy averaged over sub-tasks.
    per_task_scorers : scorers for ``cross_validate`` and ``GridSearchCV``.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn_hiss.metrics import mean_f1
    >>> X, Y = make_multilabel_classification(n_samples=80, n_classes=3,
    ...                                       random_state=0)
    >>> forest = RandomForestClassifier(n_estimators=20, random_state=0)
    >>> forest = forest.fit(X[:60], Y[:60])
    >>> score = mean_f1(Y[60:], forest.predict(X[60:]), classes=forest.classes_)
    >>> bool(0.0 <= score <= 1.0)
    True
    """
    table, reasons = _evaluate(
        Y_true, ("f1",), Y_pred=Y_pred, classes=classes, unlabeled=unlabeled
    )
    return _mean_over_subtasks(table, reasons, "f1", stacklevel=2)


def mean_roc_auc(Y_true, Y_score, *, classes=None, unlabeled=-1):
    """Area under the ROC curve per sub-task, averaged over sub-tasks.

    A binary sub-task scores the AUROC of its positive class (the larger label). A
    multi-class sub-task scores the one-vs-rest macro AUROC over the classes present
    in its labeled true entries.

    Parameters
    ----------
    Y_true : array-like or DataFrame of shape (n_samples, n_subtasks) or (n_samples,)
        True labels, one column per sub-task. NaN, None, ``pandas.NA`` and
        `unlabeled` mark unlabeled entries.
    Y_score : list of array-like or array-like of shape (n_samples, n_subtasks)
        Either one score array per sub-task, of shape (n_samples, n_classes) with one
        column per class (the output of ``predict_proba`` of a multi-output
        classifier; a single column when training saw one class) or of shape
        (n_samples,) with the score of the positive class; or one 2-D array whose
        column t scores the positive class of sub-task t. With a 1-D `Y_true`, the
        score array of the single task.
    classes : list of array-like or None, default=None
        The labels of the score columns of each sub-task, in order (an estimator's
        ``classes_``). A class found in `Y_true` but not in `classes` has score 0.
        None: the columns of a 2-D score array are the sorted labels of that
        sub-task's labeled entries in `Y_true`.
    unlabeled : int, str or None, default=-1
        Label value that marks an unlabeled entry, in addition to missing values.

    Returns
    -------
    score : float
        Mean of AUROC over the sub-tasks where it is defined. A sub-task whose
        labeled entries hold a single class (AUROC is undefined) is left out with an
        :class:`UndefinedSubtaskMetricWarning`; NaN when every sub-task is.

    Raises
    ------
    ValueError
        When the columns of a score array cannot be matched to classes.

    See Also
    --------
    mean_accuracy : accuracy averaged over sub-tasks.
    per_task_scorers : scorers for ``cross_validate`` and ``GridSearchCV``.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn_hiss.metrics import mean_roc_auc
    >>> X, Y = make_multilabel_classification(n_samples=80, n_classes=3,
    ...                                       random_state=0)
    >>> forest = RandomForestClassifier(n_estimators=20, random_state=0)
    >>> forest = forest.fit(X[:60], Y[:60])
    >>> probabilities = forest.predict_proba(X[60:])
    >>> score = mean_roc_auc(Y[60:], probabilities, classes=forest.classes_)
    >>> bool(0.5 < score <= 1.0)
    True
    """
    table, reasons = _evaluate(
        Y_true, ("roc_auc",), Y_score=Y_score, classes=classes, unlabeled=unlabeled
    )
    return _mean_over_subtasks(table, reasons, "roc_auc", stacklevel=2)


# --------------------------------------------------------------------------------------
# Estimators


def _estimator_classes(estimator, n_tasks):
    """Class labels of each sub-task from ``classes_``, None where unknown."""
    classes = getattr(estimator, "classes_", None)
    if isinstance(classes, (list, tuple)) and len(classes) == n_tasks:
        return list(classes)
    if classes is not None and n_tasks == 1 and np.ndim(classes) == 1:
        return [classes]
    return None


def _member_decisions(estimator, X):
    """decision_function of each member of a (piped) MultiOutputClassifier."""
    while isinstance(estimator, Pipeline):
        if len(estimator) > 1:
            X = estimator[:-1].transform(X)
        estimator = estimator[-1]
    members = getattr(estimator, "estimators_", None)
    if not isinstance(estimator, MultiOutputClassifier) or members is None:
        return None
    if not all(hasattr(member, "decision_function") for member in members):
        return None
    return [member.decision_function(X) for member in members]


def _estimator_scores(estimator, X):
    """predict_proba, else decision_function (whole or per member), else None."""
    for method in ("predict_proba", "decision_function"):
        if hasattr(estimator, method):
            return getattr(estimator, method)(X)
    return _member_decisions(estimator, X)


def _evaluate_estimator(estimator, X, Y, metrics, unlabeled):
    """Per-sub-task metrics of a fitted estimator on (X, Y)."""
    n_tasks = len(_target_columns(Y, "Y")[0])
    Y_pred = Y_score = None
    if "accuracy" in metrics or "f1" in metrics:
        Y_pred = estimator.predict(X)
    if "roc_auc" in metrics:
        Y_score = _estimator_scores(estimator, X)
    classes = _estimator_classes(estimator, n_tasks)
    return _evaluate(
        Y, metrics, Y_pred=Y_pred, Y_score=Y_score, classes=classes, unlabeled=unlabeled
    )


def per_task_scores(estimator, X, Y, *, unlabeled=-1):
    """Accuracy, F1 and AUROC of a fitted estimator, one row per sub-task.

    Works with any fitted classifier of one or several outputs, a Pipeline ending in
    one included: predictions come from ``predict``, scores from ``predict_proba``
    (else ``decision_function``), and score columns are matched to labels through
    the estimator's ``classes_``.

    Parameters
    ----------
    estimator : fitted classifier
        A multi-output classifier (``predict`` gives (n_samples, n_subtasks)), or an
        ordinary classifier when `Y` is 1-D.
    X : array-like or DataFrame of shape (n_samples, n_features)
        Input of the estimator.
    Y : array-like or DataFrame of shape (n_samples, n_subtasks) or (n_samples,)
        True labels. NaN, None, ``pandas.NA`` and `unlabeled` mark unlabeled
        entries.
    unlabeled : int, str or None, default=-1
        Label value that marks an unlabeled entry, in addition to missing values.

    Returns
    -------
    scores : DataFrame of shape (n_subtasks, 5)
        Indexed by sub-task (the column names of `Y`, else positions), with columns
        ``accuracy``, ``f1``, ``roc_auc``, ``n_labeled`` (labeled entries) and
        ``positive_rate`` (share of labeled entries in the positive class; NaN for
        multi-class sub-tasks). A metric undefined for a sub-task is NaN, with an
        :class:`UndefinedSubtaskMetricWarning`.

    See Also
    --------
    per_task_scorers : the means of these columns as scorers.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn_hiss.metrics import per_task_scores
    >>> X, Y = make_multilabel_classification(n_samples=80, n_classes=3,
    ...                                       random_state=0)
    >>> Y = pd.DataFrame(Y, columns=["jan", "feb", "mar"])
    >>> forest = RandomForestClassifier(n_estimators=20, random_state=0)
    >>> forest = forest.fit(X[:60], Y[:60])
    >>> table = per_task_scores(forest, X[60:], Y[60:])
    >>> list(table.index), list(table.columns)
    (['jan', 'feb', 'mar'], ['accuracy', 'f1', 'roc_auc', 'n_labeled', 'positive_rate'])
    """
    table, reasons = _evaluate_estimator(estimator, X, Y, tuple(_METRICS), unlabeled)
    for metric in _METRICS:
        all_undefined = not np.isfinite(table[metric].to_numpy(dtype=float)).any()
        _warn_undefined(metric, reasons[metric], len(table), all_undefined, 2)
    return table


# --------------------------------------------------------------------------------------
# Scorers


class _SubtaskMeanScorer:
    """Scorer ``scorer(estimator, X, y) -> float``: one metric's mean over sub-tasks.

    A class rather than a closure so that it pickles for parallel cross-validation.
    """

    def __init__(self, metric, unlabeled=-1):
        self.metric = metric
        self.unlabeled = unlabeled

    def __call__(self, estimator, X, y):
        metrics = (self.metric,)
        table, reasons = _evaluate_estimator(estimator, X, y, metrics, self.unlabeled)
        return _mean_over_subtasks(table, reasons, self.metric, stacklevel=2)

    def __repr__(self):
        return f"mean_{self.metric}_scorer(unlabeled={self.unlabeled!r})"


def per_task_scorers(*, unlabeled=-1):
    """Scorers of accuracy, F1 and AUROC averaged over sub-tasks.

    The dictionary goes directly to ``scoring=`` of ``cross_validate`` or
    ``GridSearchCV`` (with ``refit`` naming one key). Each scorer is a callable
    ``scorer(estimator, X, y) -> float`` that handles Pipelines, multi-output
    estimators (``predict_proba`` as a list of per-sub-task arrays, ``classes_`` as a
    list, as in RandomForestClassifier, KNeighborsClassifier and
    MultiOutputClassifier), single-column probabilities of a sub-task that had one
    class in the training fold, classes unseen in training (score 0), and estimators
    without ``predict_proba`` (``decision_function`` of the estimator or of each
    member of a MultiOutputClassifier; otherwise AUROC is NaN with a warning).

    Parameters
    ----------
    unlabeled : int, str or None, default=-1
        Label value that marks an unlabeled entry of the true target, in addition to
        NaN, None and ``pandas.NA``.

    Returns
    -------
    scorers : dict
        ``{"accuracy": scorer, "f1": scorer, "roc_auc": scorer}``; see
        :func:`mean_accuracy`, :func:`mean_f1` and :func:`mean_roc_auc` for what each
        computes. A score undefined on every sub-task of a fold is NaN, with an
        :class:`UndefinedSubtaskMetricWarning`.

    See Also
    --------
    per_task_scores : the same metrics per sub-task, as a table.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn.model_selection import cross_validate
    >>> from sklearn_hiss.metrics import per_task_scorers
    >>> X, Y = make_multilabel_classification(n_samples=80, n_classes=3,
    ...                                       random_state=0)
    >>> forest = RandomForestClassifier(n_estimators=20, random_state=0)
    >>> result = cross_validate(forest, X, Y, cv=3, scoring=per_task_scorers())
    >>> sorted(key for key in result if key.startswith("test_"))
    ['test_accuracy', 'test_f1', 'test_roc_auc']
    """
    return {
        metric: _SubtaskMeanScorer(metric, unlabeled=unlabeled) for metric in _METRICS
    }


def mean_accuracy_scorer(estimator, X, y):
    """Scorer of accuracy averaged over sub-tasks, with -1 marking unlabeled entries.

    Parameters
    ----------
    estimator : fitted classifier
        Multi-output (or, with a 1-D `y`, ordinary) classifier.
    X : array-like of shape (n_samples, n_features)
        Input of the estimator.
    y : array-like of shape (n_samples, n_subtasks) or (n_samples,)
        True labels.

    Returns
    -------
    score : float
        :func:`mean_accuracy` of the estimator's predictions.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn_hiss.metrics import mean_accuracy_scorer
    >>> X, Y = make_multilabel_classification(n_samples=60, random_state=0)
    >>> forest = RandomForestClassifier(n_estimators=10, random_state=0)
    >>> cross_val_score(forest, X, Y, cv=3, scoring=mean_accuracy_scorer).shape
    (3,)
    """
    return _SubtaskMeanScorer("accuracy")(estimator, X, y)


def mean_f1_scorer(estimator, X, y):
    """Scorer of F1 averaged over sub-tasks, with -1 marking unlabeled entries.

    Parameters
    ----------
    estimator : fitted classifier
        Multi-output (or, with a 1-D `y`, ordinary) classifier.
    X : array-like of shape (n_samples, n_features)
        Input of the estimator.
    y : array-like of shape (n_samples, n_subtasks) or (n_samples,)
        True labels.

    Returns
    -------
    score : float
        :func:`mean_f1` of the estimator's predictions, with its ``classes_``.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn_hiss.metrics import mean_f1_scorer
    >>> X, Y = make_multilabel_classification(n_samples=60, random_state=0)
    >>> forest = RandomForestClassifier(n_estimators=10, random_state=0)
    >>> cross_val_score(forest, X, Y, cv=3, scoring=mean_f1_scorer).shape
    (3,)
    """
    return _SubtaskMeanScorer("f1")(estimator, X, y)


def mean_roc_auc_scorer(estimator, X, y):
    """Scorer of AUROC averaged over sub-tasks, with -1 marking unlabeled entries.

    Parameters
    ----------
    estimator : fitted classifier
        Multi-output (or, with a 1-D `y`, ordinary) classifier, ideally with
        ``predict_proba``; ``decision_function`` serves otherwise.
    X : array-like of shape (n_samples, n_features)
        Input of the estimator.
    y : array-like of shape (n_samples, n_subtasks) or (n_samples,)
        True labels.

    Returns
    -------
    score : float
        :func:`mean_roc_auc` of the estimator's scores, matched to its ``classes_``.

    Examples
    --------
    >>> from sklearn.datasets import make_multilabel_classification
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn_hiss.metrics import mean_roc_auc_scorer
    >>> X, Y = make_multilabel_classification(n_samples=60, random_state=0)
    >>> forest = RandomForestClassifier(n_estimators=10, random_state=0)
    >>> cross_val_score(forest, X, Y, cv=3, scoring=mean_roc_auc_scorer).shape
    (3,)
    """
    return _SubtaskMeanScorer("roc_auc")(estimator, X, y)
