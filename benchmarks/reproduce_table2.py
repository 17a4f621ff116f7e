"""The paper's Table 2 on public data: one HiSS model against per-sub-task baselines.

Rows: GaussianNB, LogisticRegression, RandomForest and HistGradientBoosting
(one model per sub-task, as the paper counts them) and MLPClassifier (one
model for the multi-label target), each plain and "helped" (balanced class
weights and an F1 threshold per sub-task tuned by ``TunedThresholdClassifierCV``
on the training rows); then the HiSS pipeline FactorReducer ->
SOMPseudoLabeler -> HiSSClassifier with the estimator's defaults (the factor
step keeping its standardised inputs), the same with one network, and the
paper's configuration.

Every model sees the same splits (see ``_reproduce.py``): ``--protocol
holdout`` is the paper's five 80/20 splits, ``--protocol cv`` a shuffled
5-fold cross-validation. Cells are the mean over splits of the mean over
sub-tasks, ``±`` the standard deviation over splits.

    python benchmarks/reproduce_table2.py --dataset flights --protocol holdout

writes ``benchmarks/results/table2_flights_holdout.md`` (and the per-split
numbers as ``.csv``). ``--quick`` is a smoke run on 300 rows whose numbers mean
nothing; it writes to a scratch folder unless ``--out`` is given.
"""

import argparse
import re
import time

import pandas as pd
from _reproduce import (
    METRIC_TITLES,
    METRICS,
    PAPER_PARAMS,
    baselines,
    cell,
    evaluate,
    hiss_pipeline,
    limit_threads,
    load,
    markdown_table,
    quick_output_dir,
    splits,
    summarise,
    write_markdown,
)

from sklearn_hiss import HiSSClassifier

HELP = "balanced + F1 threshold (3-fold CV)"


def hiss_variants(quick):
    """Name -> pipeline parameters of the HiSS rows.

    The default pipeline (FactorReducer keeping its inputs -> SOMPseudoLabeler
    -> HiSSClassifier at its defaults), the same with one network instead of
    five, and the paper's configuration.
    """
    variants = {
        "HiSS, defaults": {},
        "HiSS, defaults, one network": {"n_networks": 1},
        "HiSS, paper configuration": dict(PAPER_PARAMS),
    }
    if quick:
        for params in variants.values():
            params["max_epochs"] = 3
    return variants


def run(dataset, protocol, quick, cached=None):
    """Per-split and per-sub-task results of every model on one data set.

    ``cached`` maps ``(model, help, config)`` to the ``(per_split, per_task)``
    results of an earlier run; a row whose configuration (the repr of its
    seed-0 estimator) is unchanged is reused instead of refitted.
    """
    bunch = load(dataset, quick)
    X, Y = bunch.data, bunch.target
    split_list = splits(len(X), protocol, quick)
    cached = cached or {}
    rows, per_task, reused = [], {}, []
    for make, label in _models(bunch, quick):
        result = cached.get(label[:3])
        if result is None:
            result = _timed(label, make, X, Y, split_list)
        else:
            reused.append(f"{label[0]} ({label[1]})")
        rows.append(result[0])
        per_task[label[:2]] = result[1]
    return pd.concat(rows, ignore_index=True), per_task, reused


def _models(bunch, quick):
    """``(make(seed), (model, help, config, models counted))`` of every row."""
    models = []
    for helped in (False, True):
        for name, (estimator, n_models) in baselines(0, helped, quick).items():

            def make(seed, name=name, helped=helped):
                return baselines(seed, helped=helped, quick=quick)[name][0]

            count = bunch.target.shape[1] if n_models == "per sub-task" else n_models
            label = (name, _baseline_help(name, helped), _config(estimator), count)
            models.append((make, label))
    for name, params in hiss_variants(quick).items():

        def make(seed, params=params):
            return hiss_pipeline(bunch, seed, **params)

        networks = {**HiSSClassifier().get_params(), **params}["n_networks"]
        count = 1 if networks == 1 else f"1 ({networks} cross-fitted networks)"
        label = (name, _hiss_help(params), _config(make(0)), count)
        models.append((make, label))
    return models


def _config(estimator):
    """A fingerprint of a row's configuration: the repr of all its parameters.

    Memory addresses in the repr of objects without their own (callbacks) are
    dropped, so that the same configuration gives the same fingerprint.
    """
    text = repr(sorted(estimator.get_params(deep=True).items(), key=str))
    return re.sub(r" at 0x[0-9a-f]+", "", text)


def load_cached(csv_path):
    """Results of an earlier run, keyed by ``(model, help, config)``."""
    tasks_path = csv_path.with_name(csv_path.stem + "_subtasks.csv")
    if not (csv_path.exists() and tasks_path.exists()):
        return {}
    per_split = pd.read_csv(csv_path)
    if "config" not in per_split:
        return {}
    per_task = pd.read_csv(tasks_path, index_col=0)
    cached = {}
    for key, group in per_split.groupby(["model", "help", "config"], sort=False):
        tasks = per_task[(per_task.model == key[0]) & (per_task.help == key[1])]
        cached[key] = (group, tasks[list(METRICS)])
    return cached


def save(results, per_task, csv_path):
    """Per-split results and per-sub-task means, for reuse and re-analysis."""
    results.to_csv(csv_path, index=False)
    frames = [
        tasks.assign(model=model, help=help_)
        for (model, help_), tasks in per_task.items()
    ]
    pd.concat(frames).to_csv(csv_path.with_name(csv_path.stem + "_subtasks.csv"))


def _baseline_help(name, helped):
    if not helped:
        return "none"
    return "early stopping only" if name.startswith("MLP") else HELP


def _hiss_help(params):
    full = {**HiSSClassifier().get_params(), **params}
    if full["class_weight"] is None and full["decision_threshold"] != "f1":
        return "none"
    return "built in"


def _timed(label, make, X, Y, split_list):
    start = time.perf_counter()
    per_split, tasks = evaluate(make, X, Y, split_list)
    print(
        f"{label[0]:45s} {label[1]:10.10s} {per_split.roc_auc.mean():.3f} "
        f"{per_split.f1.mean():.3f} ({time.perf_counter() - start:.0f} s)",
        flush=True,
    )
    per_split = per_split.assign(
        model=label[0], help=label[1], config=label[2], n_models=label[3]
    )
    return per_split, tasks


def summary_table(results):
    """One markdown row per model: metric means ± sd over splits, models, fit time."""
    rows = []
    for (model, help_, n_models), group in results.groupby(
        ["model", "help", "n_models"], sort=False
    ):
        s = summarise(group)
        rows.append(
            {
                "model": model,
                "class imbalance help": help_,
                "models": n_models,
                **{METRIC_TITLES[m]: cell(s, m) for m in METRICS},
                "fit s (per split)": f"{s['fit_s_mean']:.1f}",
            }
        )
    return pd.DataFrame(rows)


PAPER_BASELINES = ("GaussianNB", "LogisticRegression", "RandomForest")


def verdict(results):
    """Each HiSS row against the best paper baseline per metric, paired by split.

    The paper's baselines are GaussianNB, LogisticRegression and RandomForest,
    plain or helped. For AUROC and F1, the baseline row with the best mean is
    compared with every HiSS row on the same splits: mean ± standard deviation
    over splits of (HiSS - baseline).
    """
    key = ["model", "help"]
    paper = results[results.model.isin(PAPER_BASELINES)]
    means = paper.groupby(key, sort=False)[["roc_auc", "f1"]].mean()
    rows = []
    for metric in ("roc_auc", "f1"):
        best = means[metric].idxmax()
        reference = paper[(paper.model == best[0]) & (paper.help == best[1])]
        reference = reference.set_index("seed")[metric]
        hiss = results[results.model.str.startswith("HiSS")]
        for model, group in hiss.groupby("model", sort=False):
            change = group.set_index("seed")[metric] - reference
            rows.append(
                {
                    "metric": METRIC_TITLES[metric],
                    "HiSS row": model,
                    "best paper baseline": f"{best[0]} ({best[1]})",
                    "HiSS - baseline": _mean_sd(change, signed=True),
                    "splits HiSS ahead": f"{int((change >= 0).sum())} / {len(change)}",
                }
            )
    return pd.DataFrame(rows)


def _mean_sd(values, signed=False):
    sign = "+" if signed else ""
    return f"{values.mean():{sign}.3f} ± {values.std(ddof=1):.3f}"


_SHORT = {
    "GaussianNB": "GNB",
    "LogisticRegression": "LR",
    "RandomForest": "RF",
    "HistGradientBoosting": "HGB",
    "MLP (multi-label)": "MLP",
}


def _short(model, help_):
    if model.startswith("HiSS"):
        return model.replace(", ", " ").replace("configuration", "config")
    return _SHORT.get(model, model) + ("" if help_ == "none" else " helped")


def subtask_tables(per_task, results):
    """Per sub-task AUROC and F1 of the HiSS rows and the best baselines.

    Columns: every HiSS row, then the baselines with the best mean AUROC and
    the best mean F1. The last row is the standard deviation over sub-tasks.
    """
    baseline = results[~results.model.str.startswith("HiSS")]
    means = baseline.groupby(["model", "help"], sort=False)[["roc_auc", "f1"]].mean()
    best = [means.roc_auc.idxmax(), means.f1.idxmax()]
    keys = [k for k in per_task if k[0].startswith("HiSS")]
    keys += [k for k in dict.fromkeys(best)]
    tables = []
    for metric in ("roc_auc", "f1"):
        table = pd.DataFrame({_short(*k): per_task[k][metric] for k in keys})
        table.loc["sd over sub-tasks"] = table.std(ddof=1)
        table = table.map(lambda v: f"{v:.3f}").reset_index(names="sub-task")
        tables.append(table)
    return tables


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["flights", "yeast"], default="flights")
    parser.add_argument("--protocol", choices=["holdout", "cv"], default="holdout")
    parser.add_argument("--quick", action="store_true", help="smoke run on 300 rows")
    parser.add_argument("--out", default=None, help="results folder")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse the rows of the previous run's CSV files whose configuration "
        "is unchanged (not after a change of code: the fingerprint is the "
        "parameters only)",
    )
    args = parser.parse_args(argv)
    limit_threads()
    start = time.perf_counter()
    out = quick_output_dir(args.quick, args.out)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"table2_{args.dataset}_{args.protocol}.csv"
    cached = load_cached(csv_path) if args.reuse else {}
    results, per_task, reused = run(args.dataset, args.protocol, args.quick, cached)
    save(results, per_task, csv_path)
    protocol = {
        "holdout": "five 80/20 splits (seeds 0-4)",
        "cv": "shuffled 5-fold cross-validation",
    }[args.protocol]
    blocks = [
        f"Data: `{args.dataset}`; protocol: {protocol}. Mean over sub-tasks, then mean "
        "± standard deviation over splits. Baselines see the raw features (scaled "
        "for LogisticRegression and MLP); the paper's HiSS sees the factor scores, the "
        "default one the factor scores and the standardised raw features "
        "(`FactorReducer(keep_inputs=True)`).",
        markdown_table(summary_table(results)),
        "Each HiSS row against the best of GaussianNB, LogisticRegression and "
        "RandomForest (plain or helped) for each metric, paired by split:",
        markdown_table(verdict(results)),
        "AUROC and F1 per sub-task (mean over splits) of the HiSS rows and of the "
        "baselines with the best mean AUROC and F1 (helped: balanced class weights "
        "and tuned thresholds); the last row is the spread over sub-tasks.",
        *[
            f"**{title} per sub-task**\n\n{markdown_table(table)}"
            for title, table in zip(("AUROC", "F1"), subtask_tables(per_task, results))
        ],
        f"Total run time: {time.perf_counter() - start:.0f} s.",
    ]
    if reused:
        listed = ", ".join(reused)
        blocks.insert(-1, f"Rows reused from the earlier `{csv_path.name}`: {listed}.")
    title = f"Table 2 on {args.dataset}"
    path = write_markdown(csv_path.with_suffix(".md"), title, blocks)
    print(path)
    return path


if __name__ == "__main__":
    main()
