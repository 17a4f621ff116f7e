"""Shared pieces of the paper-reproduction scripts: data, models, protocol, output.

The scripts ``reproduce_table2.py``, ``reproduce_table3.py``,
``reproduce_figures.py`` and ``search_defaults.py`` import this module (it sits
beside them, so ``python benchmarks/<script>.py`` finds it).

Protocol. Every model sees the same splits of the same rows: five 80/20 splits
(``train_test_split`` with seeds 0-4, as in the paper) and one shuffled 5-fold
cross-validation (seed 0). Each fit gets the split's seed as its own seed. For
every split the metrics are computed per sub-task on the test rows and averaged
over sub-tasks (:func:`sklearn_hiss.metrics.per_task_scores`); tables give the
mean over splits and, after ``±``, the standard deviation over splits (the
seed-to-seed spread).

Experimental estimator features. Capabilities the estimator lacks are
evaluated here, outside the package, so that the evidence exists before the
estimator changes: :class:`NetworkExtras` (a skorch callback adding weight
decay, dropout and a linear path beside the deep one) and
:class:`CrossFitEnsemble` (averages networks fitted on the folds of the
training rows and tunes per-sub-task thresholds on their out-of-fold
predictions).
"""

import os
import platform
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import make_scorer
from sklearn.model_selection import (
    KFold,
    StratifiedKFold,
    TunedThresholdClassifierCV,
    train_test_split,
)
from sklearn.multioutput import MultiOutputClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback
from threadpoolctl import threadpool_limits
from torch import nn
from torch.nn import functional as F

import sklearn_hiss
from sklearn_hiss import (
    FactorAnalysisWarning,
    FactorReducer,
    HiSSClassifier,
    SOMPseudoLabeler,
)
from sklearn_hiss._classifier import _best_f1_threshold
from sklearn_hiss.datasets import load_flight_disruptions, load_yeast
from sklearn_hiss.metrics import UndefinedSubtaskMetricWarning, per_task_scores

RESULTS = Path(__file__).resolve().parent / "results"
DATASETS = {"flights": load_flight_disruptions, "yeast": load_yeast}
METRICS = ("accuracy", "f1", "roc_auc")
METRIC_TITLES = {"accuracy": "accuracy", "f1": "F1", "roc_auc": "AUROC"}

# The paper's configuration (section 3.2.2): 256 / 128 / 2 x 128 units, alpha 1,
# Adam at 1e-3, a fixed number of epochs, threshold 0.5, no class weights.
PAPER_PARAMS = {
    "shared_units": (256,),
    "local_units": (128,),
    "task_units": (128, 128),
    "alpha": 1.0,
    "learning_rate": 1e-3,
    "batch_size": 128,
    "max_epochs": 200,
    "early_stopping": False,
    "class_weight": None,
    "decision_threshold": 0.5,
    "n_networks": 1,
    "inputs": "factors",
}

# The defaults proposed by search_defaults.py (see its log: round 1 chose
# inputs, alpha and task_units; round 2 stop_on; five cross-fitted members from
# the outer folds of round 1), in the search's own terms: estimator parameters
# plus the search-time "inputs", "stop_on" and "members". The estimator now has
# them built in (keep_inputs=True on the FactorReducer, scoring="roc_auc",
# n_networks=5), so the default pipeline is hiss_pipeline(bunch, seed).
PROPOSED_PARAMS = {
    "early_stopping": True,
    "class_weight": "balanced",
    "decision_threshold": "f1",
    "inputs": "factors+raw",
    "alpha": 0.2,
    "task_units": (),
    "stop_on": "auroc",
    "members": 5,
}


# ----------------------------------------------------------------------- setup


def limit_threads():
    """One thread for torch and for every BLAS: the machine is shared."""
    torch.set_num_threads(1)
    limit_threads.controller = threadpool_limits(limits=1)
    warnings.filterwarnings("ignore", category=UndefinedSubtaskMetricWarning)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    # Constant columns in a training split (rare carriers) are dropped by the
    # FactorReducer, as it should; the warning would repeat on every fit.
    warnings.filterwarnings("ignore", category=FactorAnalysisWarning)


def load(name, quick=False):
    """The data set ``name`` as a Bunch; ``quick`` keeps 300 rows (smoke runs)."""
    bunch = DATASETS[name]()
    if quick:
        rows = np.random.default_rng(0).permutation(len(bunch.data))[:300]
        bunch.data = bunch.data.iloc[np.sort(rows)]
        bunch.target = bunch.target.iloc[np.sort(rows)]
    return bunch


def splits(n_rows, protocol, quick=False):
    """``(seed, train, test)`` triples of a protocol: ``"holdout"`` or ``"cv"``."""
    n_splits = 2 if quick else 5
    rows = np.arange(n_rows)
    if protocol == "holdout":
        return [
            (seed, *train_test_split(rows, test_size=0.2, random_state=seed))
            for seed in range(n_splits)
        ]
    if protocol == "cv":
        folds = KFold(n_splits, shuffle=True, random_state=0).split(rows)
        return [(seed, train, test) for seed, (train, test) in enumerate(folds)]
    raise ValueError(f"protocol must be 'holdout' or 'cv'; got {protocol!r}.")


# ----------------------------------------------------------------------- models


def hiss_pipeline(bunch, seed, **params):
    """FactorReducer -> SOMPseudoLabeler -> HiSSClassifier, as the paper builds it.

    ``params`` go to the HiSSClassifier. The special key ``"inputs"`` chooses
    what the network sees: ``"factors+inputs"`` (the default, the recommended
    pipeline) the factor scores and the standardised inputs from
    ``FactorReducer(keep_inputs=True)``, clustered together by the SOM;
    ``"factors"`` the factor scores only, as in the paper; ``"factors+raw"``
    (the search's version) both, with the SOM clustering the factor scores
    only. The search-time keys: ``"stop_on"`` (``"auroc"`` or ``"loss"``)
    sets the estimator's ``scoring``, ``"extras"`` (a dict)
    adds a :class:`NetworkExtras` callback, and ``"members"`` (an int > 1)
    wraps the pipeline in a :class:`CrossFitEnsemble` of that many members.
    """
    params = dict(params)
    extras = params.pop("extras", None)
    members = params.pop("members", 1)
    inputs = params.pop("inputs", "factors+inputs")
    stop_on = params.pop("stop_on", None)
    if stop_on is not None:
        params["scoring"] = {"auroc": "roc_auc", "loss": "loss"}[stop_on]
    callbacks = [NetworkExtras(**extras)] if extras else []
    if callbacks:
        params["callbacks"] = callbacks
    if inputs in ("factors", "factors+inputs"):
        keep = inputs == "factors+inputs"
        steps = [
            ("factors", FactorReducer(groups=bunch.feature_groups, keep_inputs=keep)),
            ("clusters", SOMPseudoLabeler(random_state=seed)),
        ]
    else:
        steps = [("indicators", IndicatorsAndRaw(bunch.feature_groups, seed))]
    pipe = Pipeline(
        [
            *steps,
            (
                "hiss",
                HiSSClassifier(
                    tasks=bunch.task_groups,
                    pseudo_labels="passthrough",
                    random_state=seed,
                    **params,
                ),
            ),
        ]
    )
    if members > 1:
        return CrossFitEnsemble(pipe, n_members=members, random_state=seed)
    return pipe


def _per_subtask(estimator, scale=False):
    model = MultiOutputClassifier(estimator)
    return make_pipeline(StandardScaler(), model) if scale else model


def _binary_f1(y_true, y_pred):
    """F1 of class 1, as ``f1_score`` for 0/1 labels, without its input checks.

    ``TunedThresholdClassifierCV`` scores each of its 100 candidate thresholds
    with this function; ``f1_score``'s validation would dominate the run time.
    """
    y_true, y_pred = np.asarray(y_true) == 1, np.asarray(y_pred) == 1
    tp = np.sum(y_true & y_pred)
    return 2.0 * tp / max(y_true.sum() + y_pred.sum(), 1)


F1_SCORER = make_scorer(_binary_f1)


class TunedOrFixedThreshold(TunedThresholdClassifierCV):
    """``TunedThresholdClassifierCV`` that keeps 0.5 where tuning is impossible.

    A rare sub-task (yeast's Class14 has 34 positives) can leave a model with
    constant scores on a cross-validation fold; scikit-learn then refuses to
    tune. The estimator is then refitted on all rows with the threshold 0.5,
    as the plain baseline would be, instead of failing the whole table.
    """

    def fit(self, X, y, **params):
        try:
            return super().fit(X, y, **params)
        except ValueError as exc:
            if "constant predictions" not in str(exc):
                raise
        self.estimator_ = clone(self.estimator).fit(X, y)
        self.best_threshold_, self.best_score_ = 0.5, np.nan
        return self


def _tuned(estimator, seed, quick=False):
    """Per-sub-task F1 threshold tuned by 3-fold CV (2 if quick) on training rows.

    The folds are shuffled: the rows of a data set come in an arbitrary order
    (flights: by aircraft), and unshuffled folds would tune each threshold on
    rows unlike the rest.
    """
    folds = StratifiedKFold(2 if quick else 3, shuffle=True, random_state=seed)
    return TunedOrFixedThreshold(estimator, scoring=F1_SCORER, cv=folds)


def baselines(seed, helped=False, quick=False):
    """Name -> (estimator, number of models) of the per-sub-task baselines.

    ``helped`` adds what scikit-learn offers against class imbalance:
    ``class_weight="balanced"`` where the estimator has it and a per-sub-task
    decision threshold tuned for F1 (``TunedThresholdClassifierCV``, 3-fold CV
    on the training rows). MLPClassifier, one model for the multi-label
    target, has neither; its helped variant stops early on a validation split.
    ``quick`` shrinks the ensembles and iterations for smoke runs.
    """
    balanced = {"class_weight": "balanced"} if helped else {}
    size = {"trees": 5, "boosts": 5, "epochs": 20} if quick else _FULL_SIZE
    members = {
        "GaussianNB": (GaussianNB(), False),
        "LogisticRegression": (LogisticRegression(max_iter=2000, **balanced), True),
        "RandomForest": (
            RandomForestClassifier(
                n_estimators=size["trees"], random_state=seed, **balanced
            ),
            False,
        ),
        "HistGradientBoosting": (
            HistGradientBoostingClassifier(
                max_iter=size["boosts"], random_state=seed, **balanced
            ),
            False,
        ),
    }
    models = {
        name: (
            _per_subtask(_tuned(est, seed, quick) if helped else est, scale),
            "per sub-task",
        )
        for name, (est, scale) in members.items()
    }
    mlp = MLPClassifier(
        random_state=seed, max_iter=size["epochs"], early_stopping=helped
    )
    models["MLP (multi-label)"] = (make_pipeline(StandardScaler(), mlp), 1)
    return models


# scikit-learn's defaults: 100 trees, 100 boosting iterations, 200 epochs.
_FULL_SIZE = {"trees": 100, "boosts": 100, "epochs": 200}


# ------------------------------------------------------------------ evaluation


def evaluate(make_model, X, Y, split_list):
    """Fit a fresh model per split; one row of mean-over-sub-task metrics per split.

    ``make_model(seed)`` returns an unfitted estimator. Returns the per-split
    DataFrame (columns ``seed``, the metrics, ``fit_s``) and the per-sub-task
    scores averaged over splits.
    """
    rows, per_task = [], []
    for seed, train, test in split_list:
        model = make_model(seed)
        start = time.perf_counter()
        model.fit(X.iloc[train], Y.iloc[train])
        fit_s = time.perf_counter() - start
        scores = per_task_scores(model, X.iloc[test], Y.iloc[test])
        per_task.append(scores[list(METRICS)])
        rows.append({"seed": seed, **scores[list(METRICS)].mean(), "fit_s": fit_s})
    per_task = sum(per_task) / len(per_task)
    return pd.DataFrame(rows), per_task


def summarise(per_split):
    """Mean and standard deviation over splits of every metric and the fit time."""
    columns = [*METRICS, "fit_s"]
    return {
        **{f"{c}_mean": per_split[c].mean() for c in columns},
        **{f"{c}_sd": per_split[c].std(ddof=1) for c in columns},
        "n_splits": len(per_split),
    }


def cell(summary, metric, digits=3):
    """``mean ± sd`` of one metric, for a markdown table."""
    mean, sd = summary[f"{metric}_mean"], summary[f"{metric}_sd"]
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


# ---------------------------------------------------------------------- output


def stamp(argv=None):
    """Markdown lines saying which command and which versions made a result."""
    argv = sys.argv if argv is None else argv
    command = "python " + " ".join(shlex.quote(a) for a in argv)
    versions = {
        "sklearn-hiss": sklearn_hiss.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "python": platform.python_version(),
    }
    listed = ", ".join(f"{k} {v}" for k, v in versions.items())
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return [
        f"_Generated by `{command}` on {when}._  ",
        f"_Versions: {listed}; {platform.machine()}, 1 CPU thread._",
    ]


def png_metadata(argv=None):
    """The stamp as PNG text metadata."""
    return {"Software": " ".join(line.strip("_ ") for line in stamp(argv))}


def markdown_table(frame):
    """A DataFrame as a GitHub markdown table (index dropped)."""
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(map(str, row)) + " |" for row in frame.to_numpy()]
    return "\n".join([header, rule, *body])


def write_markdown(path, title, blocks, argv=None):
    """Write a stamped markdown file of a title and text/table blocks."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = [f"# {title}", "", *stamp(argv), ""]
    for block in blocks:
        text += [block, ""]
    path.write_text("\n".join(text))
    return path


def quick_output_dir(quick, out):
    """Results go to ``out``; a quick run defaults to a scratch folder instead."""
    if out is not None:
        return Path(out)
    if quick:
        return Path(os.environ.get("TMPDIR", "/tmp")) / "sklearn_hiss_quick"
    return RESULTS


# --------------------------------------------------- experimental capabilities


class NetworkExtras(Callback):
    """Weight decay, dropout and a linear path added to a HiSS network at fit time.

    A skorch callback for ``HiSSClassifier(callbacks=[...])``, used to measure
    these capabilities before the estimator has them.

    Parameters
    ----------
    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW) on every weight.
    dropout : float, default=0.0
        Dropout on the globally shared representation and on the input of the
        sub-task output layers, in training only.
    input_dropout : float, default=0.0
        Dropout on the network input, in training only.
    linear_path : bool, default=False
        Add a linear map of the input to every binary sub-task's logit, beside
        the deep path (a "wide and deep" network).
    """

    def __init__(
        self, weight_decay=0.0, dropout=0.0, input_dropout=0.0, linear_path=False
    ):
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.input_dropout = input_dropout
        self.linear_path = linear_path

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        module = net.module_
        if self.linear_path and not hasattr(module, "linear_path"):
            self._add_linear_path(module, net.module__n_features)
        if self.dropout or self.input_dropout:
            self._add_dropout(module)
        net.optimizer_ = torch.optim.AdamW(
            module.parameters(), lr=net.lr, weight_decay=self.weight_decay
        )

    def _add_linear_path(self, module, n_features):
        n_subtasks = len(module.main_index)
        module.linear_path = nn.Linear(n_features, n_subtasks)
        nn.init.zeros_(module.linear_path.weight)
        nn.init.zeros_(module.linear_path.bias)

        def add_linear(mod, inputs, output):
            logits, pseudo = output
            wide = mod.linear_path(inputs[0])
            binary = torch.zeros_like(logits)
            binary[:, :, 1] = wide
            return logits + binary, pseudo

        module.register_forward_hook(add_linear)

    def _add_dropout(self, module):
        p_in, p_hidden = self.input_dropout, self.dropout

        def drop_input(mod, inputs):
            return (F.dropout(inputs[0], p_in, mod.training),)

        def drop_output(mod, inputs, output):
            return F.dropout(output, p_hidden, mod.training)

        def drop_head_input(mod, inputs):
            return (F.dropout(inputs[0], p_hidden, mod.training),)

        if p_in:
            module.shared.register_forward_pre_hook(drop_input)
        if p_hidden:
            if len(module.shared):
                module.shared.register_forward_hook(drop_output)
            module.output.register_forward_pre_hook(drop_head_input)


class CrossFitEnsemble(ClassifierMixin, BaseEstimator):
    """Average of models fitted on the folds of the training rows.

    Member ``k`` is a clone of `estimator` fitted on every fold but fold ``k``
    (its own seed); its predictions on fold ``k`` are out-of-fold. The
    ensemble's probability is the members' mean; the decision threshold of
    each binary sub-task maximises F1 on the out-of-fold probabilities of all
    training rows, so no training row judges a model that saw it.

    Parameters
    ----------
    estimator : classifier
        A multi-output classifier (or Pipeline) with ``predict_proba`` giving a
        list of (n, 2) arrays, and a ``random_state`` somewhere in its params.
    n_members : int, default=5
        Number of folds, hence of members.
    random_state : int, default=0
        Seeds the folds and the members.
    """

    def __init__(self, estimator, n_members=5, random_state=0):
        self.estimator = estimator
        self.n_members = n_members
        self.random_state = random_state

    def fit(self, X, Y):
        folds = KFold(self.n_members, shuffle=True, random_state=self.random_state)
        Y_array = np.asarray(Y, dtype=float)
        oof = np.full(Y_array.shape, np.nan)
        self.estimators_ = []
        for k, (train, held) in enumerate(folds.split(X)):
            member = _reseeded(clone(self.estimator), self.random_state * 100 + k)
            member.fit(_rows(X, train), _rows(Y, train))
            oof[held] = _positive_scores(member.predict_proba(_rows(X, held)))
            self.estimators_.append(member)
        self.classes_ = [np.array([0, 1])] * Y_array.shape[1]
        self.thresholds_ = np.array(
            [_f1_threshold(Y_array[:, t], oof[:, t]) for t in range(Y_array.shape[1])]
        )
        return self

    def predict_proba(self, X):
        scores = np.mean(
            [_positive_scores(m.predict_proba(X)) for m in self.estimators_], axis=0
        )
        return [np.column_stack([1 - s, s]) for s in scores.T]

    def predict(self, X):
        scores = np.column_stack([p[:, 1] for p in self.predict_proba(X)])
        return (scores >= self.thresholds_).astype(int)


def _rows(data, index):
    return data.iloc[index] if hasattr(data, "iloc") else data[index]


def _reseeded(estimator, seed):
    keys = [k for k in estimator.get_params() if k.endswith("random_state")]
    return estimator.set_params(**dict.fromkeys(keys, seed))


def _positive_scores(probas):
    return np.column_stack([p[:, -1] for p in probas])


def _f1_threshold(truth, scores):
    """The package's F1 threshold, for float labels with NaN for unlabeled."""
    labeled = np.isfinite(truth) & (truth >= 0) & np.isfinite(scores)
    codes = np.where(labeled, np.nan_to_num(truth), -1).astype(np.int64)
    return _best_f1_threshold(codes, np.where(labeled, scores, 0.0))


class IndicatorsAndRaw(TransformerMixin, BaseEstimator):
    """Factor scores, standardised raw columns and SOM cluster of the scores.

    Output columns: the FactorReducer's scores, then every input column
    standardised, then the SOMPseudoLabeler's cluster id of the scores (the
    layout ``HiSSClassifier(pseudo_labels="passthrough")`` reads).

    Parameters
    ----------
    groups : dict
        Column groups of the FactorReducer.
    random_state : int, default=0
        Seed of the SOM.
    """

    def __init__(self, groups, random_state=0):
        self.groups = groups
        self.random_state = random_state

    def fit(self, X, y=None):
        self.reducer_ = FactorReducer(groups=self.groups).fit(X)
        scores = self.reducer_.transform(X)
        self.som_ = SOMPseudoLabeler(random_state=self.random_state).fit(scores)
        self.scaler_ = StandardScaler().fit(X)
        return self

    def transform(self, X):
        scores = self.reducer_.transform(X)
        labels = self.som_.predict(scores)
        return np.column_stack([scores, self.scaler_.transform(X), labels])
