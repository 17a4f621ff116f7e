"""The main job: HiSS beside one-model-per-sub-task baselines on real data.

Every model goes through the same ``cross_validate`` with the same folds and the
same scorers, so the numbers of the paper's Table 2 (mean accuracy, F1 and AUROC
over the sub-tasks; number of models; fit time) can be compared row by row. The
per-sub-task scores come from the fitted estimators of those same folds: nothing
is fitted twice.
"""

import sys
import time
import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_validate
from sklearn.multioutput import MultiOutputClassifier
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch

from ._factor import FactorAnalysisWarning, FactorReducer
from ._som import SOMPseudoLabeler
from .datasets import load_flight_disruptions
from .metrics import per_task_scorers, per_task_scores

__all__ = ["DemoSettingError", "format_tables", "run_demo"]

METRIC_NAMES = {"accuracy": "accuracy", "f1": "F1", "roc_auc": "AUROC"}
# HiSSClassifier parameters shown in the output, read from the estimator itself
# so that the printout follows the class defaults wherever they move.
_SHOWN_HISS_PARAMS = (
    "shared_units",
    "local_units",
    "task_units",
    "alpha",
    "max_epochs",
    "early_stopping",
    "scoring",
    "class_weight",
    "decision_threshold",
    "n_networks",
)
# --quick: a smoke run that finishes in seconds; its numbers mean nothing.
_QUICK = {"n_rows": 300, "cv": 2, "max_epochs": 5, "n_trees": 10}
_FULL = {"n_rows": None, "cv": 5, "max_epochs": None, "n_trees": 100}


class DemoSettingError(ValueError):
    """A setting of the demo that its data cannot satisfy (e.g. too many folds)."""


def run_demo(*, cv=None, seed=0, quick=False, progress=True, stream=None):
    """Cross-validate HiSS and three per-sub-task baselines on the flight data.

    Loads :func:`~sklearn_hiss.datasets.load_flight_disruptions` and runs, through
    one ``cross_validate`` call per model on the same shuffled ``KFold``, with
    :func:`~sklearn_hiss.metrics.per_task_scorers`:

    - ``GaussianNB``, ``LogisticRegression`` (after a ``StandardScaler``,
      ``max_iter=1000``) and ``RandomForest`` (``n_estimators=100``), each as one
      model per sub-task (a ``MultiOutputClassifier``), on the raw features;
    - ``HiSS``: the recommended pipeline, FactorReducer (keeping its
      standardised inputs beside the factor scores) -> SOMPseudoLabeler ->
      HiSSClassifier with the classifier's default parameters, one model for
      every sub-task.

    Parameters
    ----------
    cv : int or None, default=None
        Number of folds, from 2 to the number of rows used; None means 5 (2
        with `quick`).
    seed : int, default=0
        Seeds the folds, the SOM, the network and the forests.
    quick : bool, default=False
        A smoke run: 300 random rows, 2 folds, 5 epochs, 10 trees per forest.
        The factor step's warnings about columns that are constant in so
        small a sample, and early stopping's about 5 epochs being too few, are
        silenced.
    progress : bool, default=True
        Write one line per model and fold, with the elapsed time, to `stream`.
    stream : file-like or None, default=None
        Where progress goes; None means ``sys.stderr``.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``summary``: DataFrame, one row per model, with ``input``, ``n_models``,
        ``<metric>_mean`` and ``<metric>_std`` over folds for accuracy, f1 and
        roc_auc, and ``fit_time_s`` (mean seconds per fold). ``per_task``:
        DataFrame indexed by (main task, sub-task), columns (metric, model),
        each score averaged over folds. ``positive_rate``: Series, the share of
        positive labels of each sub-task in the test folds. ``info``: dict of
        versions, threads, data shape, settings and total time.

    Examples
    --------
    >>> from sklearn_hiss._demo import format_tables, run_demo
    >>> result = run_demo(quick=True, progress=False)  # doctest: +SKIP
    >>> print(format_tables(result))  # doctest: +SKIP
    """
    report = _Progress(sys.stderr if stream is None else stream, progress)
    settings = dict(_QUICK if quick else _FULL)
    settings["cv"] = settings["cv"] if cv is None else int(cv)

    report("loading the flight-disruption data")
    bunch = load_flight_disruptions()
    X, Y = _rows(bunch, settings["n_rows"], seed)
    _check_folds(settings["cv"], len(X), quick)
    folds = KFold(n_splits=settings["cv"], shuffle=True, random_state=seed)
    models = _models(bunch, seed, settings)

    runs = {}
    with _expected_warnings_silenced(quick):
        for name, (estimator, _) in models.items():
            runs[name] = _cross_validate(name, estimator, X, Y, folds, report)
    return Bunch(
        summary=_summary(models, runs),
        per_task=_per_task_table(runs, bunch.task_groups),
        positive_rate=_positive_rate(runs, bunch.task_groups),
        info=_info(bunch, X, models, settings, seed, quick, report.elapsed()),
    )


# --------------------------------------------------------------------------------------
# Data and models


def _check_folds(cv, n_rows, quick):
    if not 2 <= cv <= n_rows:
        sample = " of the --quick sample" if quick else ""
        raise DemoSettingError(
            f"cv={cv} asks for {cv} folds, but there are {n_rows} rows{sample}; "
            f"every fold needs a test row, so give a number from 2 to {n_rows} "
            "(5 is usual)."
        )


@contextmanager
def _expected_warnings_silenced(quick):
    """In --quick runs, no warnings about columns constant in the small sample.

    Rare indicator columns (such as an aircraft maker seen a few times) are
    often constant among 300 rows; the factor step drops them and warns, which
    a demo user can do nothing about.
    """
    with warnings.catch_warnings():
        if quick:
            warnings.filterwarnings(
                "ignore",
                message=".*constant training columns",
                category=FactorAnalysisWarning,
            )
            warnings.filterwarnings(
                "ignore", message=".*raise max_epochs", category=ConvergenceWarning
            )
        yield


def _rows(bunch, n_rows, seed):
    """All rows, or a random subset of `n_rows` of them in their original order."""
    X, Y = bunch.data, bunch.target
    if n_rows is None or n_rows >= len(X):
        return X, Y
    rows = np.sort(np.random.RandomState(seed).choice(len(X), n_rows, replace=False))
    return X.iloc[rows], Y.iloc[rows]


def _models(bunch, seed, settings):
    """Model name -> (unfitted estimator, what it sees as input), in table order."""
    one_per_task = MultiOutputClassifier
    forest = RandomForestClassifier(n_estimators=settings["n_trees"], random_state=seed)
    raw = f"the {bunch.data.shape[1]} raw features"
    return {
        "GaussianNB": (one_per_task(GaussianNB()), raw),
        "LogisticRegression": (
            make_pipeline(
                StandardScaler(), one_per_task(LogisticRegression(max_iter=1000))
            ),
            f"{raw}, standardised (StandardScaler)",
        ),
        "RandomForest": (one_per_task(forest), raw),
        "HiSS": (_hiss_pipeline(bunch, seed, settings["max_epochs"]), None),
    }


def _hiss_pipeline(bunch, seed, max_epochs):
    """The recommended pipeline: HiSSClassifier at its defaults.

    The factor step keeps its standardised inputs beside the scores, so the
    network sees every input; the SOM clusters scores and inputs together.
    """
    from ._classifier import HiSSClassifier  # imports torch

    pipe = Pipeline(
        [
            ("factors", FactorReducer(groups=bunch.feature_groups, keep_inputs=True)),
            ("clusters", SOMPseudoLabeler(random_state=seed)),
            (
                "hiss",
                HiSSClassifier(
                    tasks=bunch.task_groups,
                    pseudo_labels="passthrough",
                    random_state=seed,
                ),
            ),
        ]
    )
    if max_epochs is not None:
        pipe.set_params(hiss__max_epochs=max_epochs)
    return pipe


# --------------------------------------------------------------------------------------
# Cross-validation with progress


class _Progress:
    """Writes timestamped progress lines to a stream, or nothing when disabled."""

    def __init__(self, stream, enabled):
        self.stream, self.enabled = stream, enabled
        self.start = time.perf_counter()

    def elapsed(self):
        return time.perf_counter() - self.start

    def __call__(self, message):
        if self.enabled:
            minutes, seconds = divmod(int(self.elapsed()), 60)
            print(
                f"[{minutes:3d}:{seconds:02d}] {message}", file=self.stream, flush=True
            )


class _ReportingFolds:
    """The splits of a KFold, unchanged; reports each fold as cross_validate takes it.

    cross_validate draws the splits lazily when it runs sequentially, so a fold is
    reported just before it is fitted. The test rows of each fold are kept for
    the per-sub-task scores.
    """

    def __init__(self, folds, name, report):
        self.folds, self.name, self.report = folds, name, report
        self.test_rows = []

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.folds.get_n_splits(X, y, groups)

    def split(self, X, y=None, groups=None):
        n_folds = self.get_n_splits()
        for fold, (train, test) in enumerate(self.folds.split(X, y, groups), 1):
            self.report(
                f"{self.name}: fold {fold}/{n_folds}, training on {len(train)} rows"
            )
            self.test_rows.append(test)
            yield train, test


def _cross_validate(name, estimator, X, Y, folds, report):
    """cross_validate's result plus each fold's per-sub-task scores."""
    splits = _ReportingFolds(folds, name, report)
    result = cross_validate(
        estimator,
        X,
        Y,
        cv=splits,
        scoring=per_task_scorers(),
        return_estimator=True,
        error_score="raise",
    )
    result["per_task"] = [
        per_task_scores(fitted, X.iloc[test], Y.iloc[test])
        for fitted, test in zip(result["estimator"], splits.test_rows)
    ]
    report(f"{name}: done, {result['fit_time'].mean():.1f} s per fold to fit")
    return result


# --------------------------------------------------------------------------------------
# Tables


def _count_models(estimator):
    """Separately trained models inside a fitted estimator (one per sub-task or 1)."""
    if isinstance(estimator, Pipeline):
        estimator = estimator[-1]
    if isinstance(estimator, MultiOutputClassifier):
        return len(estimator.estimators_)
    return 1


def _hiss_input(fitted_pipes):
    """What the HiSS network saw, with the per-fold factor and cluster counts."""
    factors = sorted({sum(p["factors"].n_factors_.values()) for p in fitted_pipes})
    clusters = sorted({p["clusters"].n_clusters_ for p in fitted_pipes})
    n_in = fitted_pipes[0]["factors"].n_features_in_
    kept = " and those features standardised," * fitted_pipes[0]["factors"].keep_inputs
    return (
        f"factor scores of the {n_in} raw features ({_span(factors)} factors){kept} "
        f"and a SOM pseudo-label ({_span(clusters)} clusters), all fitted on each "
        "training fold"
    )


def _span(values):
    return str(values[0]) if len(values) == 1 else f"{values[0]}-{values[-1]}"


def _summary(models, runs):
    rows = {}
    for name, run in runs.items():
        described = models[name][1] or _hiss_input(run["estimator"])
        row = {"input": described, "n_models": _count_models(run["estimator"][0])}
        for metric in METRIC_NAMES:
            row[f"{metric}_mean"] = float(np.mean(run[f"test_{metric}"]))
            row[f"{metric}_std"] = float(np.std(run[f"test_{metric}"]))
        row["fit_time_s"] = float(np.mean(run["fit_time"]))
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")


def _fold_mean(tables):
    """Mean over folds of per-sub-task tables, sub-tasks kept in their order."""
    return pd.concat(tables).groupby(level=0, sort=False).mean()


def _task_index(task_groups):
    pairs = [(main, sub) for main, subs in task_groups.items() for sub in subs]
    return pd.MultiIndex.from_tuples(pairs, names=["main_task", "sub_task"])


def _per_task_table(runs, task_groups):
    means = {name: _fold_mean(run["per_task"]) for name, run in runs.items()}
    columns = {
        (metric, name): mean[metric].to_numpy()
        for metric in ("roc_auc", "f1", "accuracy")
        for name, mean in means.items()
    }
    table = pd.DataFrame(columns, index=_task_index(task_groups))
    table.columns.names = ["metric", "model"]
    return table


def _positive_rate(runs, task_groups):
    first = next(iter(runs.values()))["per_task"]
    rate = _fold_mean(first)["positive_rate"].to_numpy()
    return pd.Series(rate, index=_task_index(task_groups), name="positive_rate")


def _info(bunch, X, models, settings, seed, quick, seconds):
    import torch

    hiss = models["HiSS"][0][-1].get_params()
    return {
        "versions": {
            "sklearn-hiss": _package_version(),
            "torch": torch.__version__,
            "scikit-learn": sklearn.__version__,
        },
        "threads": torch.get_num_threads(),
        "n_rows": len(X),
        "n_rows_available": len(bunch.data),
        "n_features": X.shape[1],
        "task_groups": {main: len(subs) for main, subs in bunch.task_groups.items()},
        "cv": settings["cv"],
        "seed": seed,
        "quick": quick,
        "hiss_params": {key: hiss[key] for key in _SHOWN_HISS_PARAMS},
        "seconds": seconds,
    }


def _package_version():
    from . import __version__

    return __version__


# --------------------------------------------------------------------------------------
# Text


def format_tables(result):
    """The demo's report as text: header, Table 2, per-sub-task table, footer.

    Parameters
    ----------
    result : :class:`~sklearn.utils.Bunch`
        What :func:`run_demo` returned.

    Returns
    -------
    text : str
        Plain text, at most about 90 columns wide.
    """
    parts = [
        _header(result.info),
        _summary_text(result.summary, result.info),
        _per_task_text(result.per_task, result.positive_rate, "roc_auc"),
        _per_task_text(result.per_task, result.positive_rate, "f1"),
        _footer(result.info),
    ]
    return "\n\n".join(parts)


def _header(info):
    versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
    tasks = ", ".join(f"{k} {v}" for k, v in info["task_groups"].items())
    n_tasks = sum(info["task_groups"].values())
    lines = [
        f"{versions}; torch threads: {info['threads']}",
        f"data: load_flight_disruptions(), {info['n_rows']} aircraft x "
        f"{info['n_features']} features, {n_tasks} binary sub-tasks ({tasks})",
        f"evaluation: cross_validate, KFold(n_splits={info['cv']}, shuffle=True, "
        f"random_state={info['seed']}), per_task_scorers()",
    ]
    if info["quick"]:
        lines.append(
            f"--quick: {info['n_rows']} of {info['n_rows_available']} rows, few "
            "epochs and trees; a smoke test, not a result"
        )
    return "\n".join(lines)


def _summary_text(summary, info):
    n_tasks = sum(info["task_groups"].values())
    table = pd.DataFrame(index=summary.index.rename(None))
    table["models"] = summary["n_models"]
    for metric, shown in METRIC_NAMES.items():
        mean, std = summary[f"{metric}_mean"], summary[f"{metric}_std"]
        table[shown] = [f"{m:.3f} ± {s:.3f}" for m, s in zip(mean, std)]
    table["fit s/fold"] = [f"{t:.1f}" for t in summary["fit_time_s"]]
    inputs = [f"  {name}: {text}" for name, text in summary["input"].items()]
    hiss = ", ".join(f"{k}={v!r}" for k, v in info["hiss_params"].items())
    return "\n".join(
        [
            f"Table 2. Mean over the {n_tasks} sub-tasks "
            f"(mean ± std over {info['cv']} folds)",
            table.to_string(),
            "Input of each model:",
            *inputs,
            f"HiSS fit time includes the factor analysis and the SOM. HiSS: {hiss}.",
        ]
    )


def _per_task_text(per_task, positive_rate, metric):
    scores = per_task[metric]
    table = scores.map(lambda value: f"{value:.3f}").rename_axis(columns=None)
    table.insert(0, "positives", positive_rate.map(lambda value: f"{value:.2f}"))
    baselines = scores.drop(columns="HiSS").max(axis=1)
    table["HiSS - best other"] = (scores["HiSS"] - baselines).map(
        lambda value: f"{value:+.3f}"
    )
    wins = int((scores["HiSS"] > baselines).sum())
    return "\n".join(
        [
            f"{METRIC_NAMES[metric]} per sub-task (mean over folds)",
            table.to_string(),
            f"HiSS beats every other model on {wins} of {len(scores)} sub-tasks.",
        ]
    )


def _footer(info):
    minutes, seconds = divmod(int(round(info["seconds"])), 60)
    return (
        f"Total time: {minutes} min {seconds:02d} s. Reproduce with `make demo` "
        "(that is, `python -m sklearn_hiss demo`; see --help for --cv, --seed, "
        "--threads, --quick)."
    )
