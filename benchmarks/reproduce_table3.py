"""The paper's Table 3 on public data: what each level of HiSS adds, and alpha.

Each row is a parameter setting of the same pipeline (FactorReducer ->
SOMPseudoLabeler -> HiSSClassifier); only the levels change:

1. task-specific layers only (``shared_units=()``, ``local_units=()``, ``alpha=0``);
2. + locally shared layers (``local_units`` back);
3. + globally shared layers instead (``shared_units`` back, ``local_units=()``);
4. all three levels (``alpha=0``);
5. all three levels + the auxiliary pseudo-label task (``alpha`` back).

Everything else comes from ``--base``: ``defaults`` (the default pipeline,
whose factor step keeps its inputs, and the estimator's defaults; default),
``paper`` (the paper's configuration: 200 epochs, threshold 0.5; slow)
or ``paper-trained-fairly`` (the paper's network with early stopping, balanced
class weights and F1 thresholds). The splits are the paper's
five 80/20 splits (seeds 0-4). Cells are the mean over splits of the mean over
sub-tasks ``±`` the standard deviation over splits; the last columns give the
paired change against the full model (row 5) on the same splits, mean ``±``
standard deviation over splits: a level helps when removing it costs more than
its spread.

    python benchmarks/reproduce_table3.py --dataset flights

writes ``benchmarks/results/table3_flights.md`` (``table3_flights_<base>.md``
with another ``--base``). ``--quick`` is a smoke run whose numbers mean nothing.
"""

import argparse
import time

import pandas as pd
from _reproduce import (
    METRIC_TITLES,
    METRICS,
    PAPER_PARAMS,
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

# "paper-trained-fairly": the paper's network on the factor scores, with the
# early stopping, class weights and thresholds that fair numbers need.
BASES = {
    "defaults": {},
    "paper": PAPER_PARAMS,
    "paper-trained-fairly": {
        **PAPER_PARAMS,
        "early_stopping": True,
        "class_weight": "balanced",
        "decision_threshold": "f1",
    },
}


def ablation_rows(base):
    """Row name -> pipeline parameters, the levels switched on one by one."""
    full = {**HiSSClassifier().get_params(), **base}
    shared, local, alpha = full["shared_units"], full["local_units"], full["alpha"]
    return {
        "task-specific only": {"shared_units": (), "local_units": (), "alpha": 0.0},
        "+ locally shared": {"shared_units": (), "local_units": local, "alpha": 0.0},
        "+ globally shared": {"shared_units": shared, "local_units": (), "alpha": 0.0},
        "global + local + task-specific": {
            "shared_units": shared,
            "local_units": local,
            "alpha": 0.0,
        },
        f"+ auxiliary task (alpha={alpha:g})": {
            "shared_units": shared,
            "local_units": local,
            "alpha": alpha,
        },
    }


def effective_base(base_name, networks):
    """The base parameters with the requested number of networks per model."""
    return {**BASES[base_name], "n_networks": networks}


def run(dataset, base_name, quick, networks):
    """Per-split results of every ablation row."""
    bunch = load(dataset, quick)
    X, Y = bunch.data, bunch.target
    split_list = splits(len(X), "holdout", quick)
    base = effective_base(base_name, networks)
    if quick:
        base["max_epochs"] = 3
    results = []
    for name, levels in ablation_rows(base).items():
        start = time.perf_counter()
        params = {**base, **levels}
        per_split, _ = evaluate(
            lambda seed, p=params: hiss_pipeline(bunch, seed, **p), X, Y, split_list
        )
        print(
            f"{name:40s} AUROC {per_split.roc_auc.mean():.3f} "
            f"F1 {per_split.f1.mean():.3f} ({time.perf_counter() - start:.0f} s)",
            flush=True,
        )
        levels = _describe_levels({**HiSSClassifier().get_params(), **params})
        results.append(per_split.assign(row=name, **levels))
    return pd.concat(results, ignore_index=True)


def _describe_levels(params):
    return {
        "shared_units": str(tuple(params["shared_units"])),
        "local_units": str(tuple(params["local_units"])),
        "task_units": str(tuple(params["task_units"])),
        "alpha": params["alpha"],
    }


def ablation_table(results):
    """Rows: levels, metrics ± sd over splits, paired change from the full model."""
    full_name = results.row.iloc[-1]
    full = results[results.row == full_name].set_index("seed")
    rows = []
    for name, group in results.groupby("row", sort=False):
        s = summarise(group)
        change = group.set_index("seed")[list(METRICS)] - full[list(METRICS)]
        rows.append(
            {
                "row": name,
                "shared_units": group.shared_units.iloc[0],
                "local_units": group.local_units.iloc[0],
                "task_units": group.task_units.iloc[0],
                "alpha": f"{group.alpha.iloc[0]:g}",
                **{METRIC_TITLES[m]: cell(s, m) for m in METRICS},
                **{
                    f"Δ{METRIC_TITLES[m]} vs full": _paired(
                        change[m], name == full_name
                    )
                    for m in ("f1", "roc_auc")
                },
                "fit s": f"{s['fit_s_mean']:.1f}",
            }
        )
    return pd.DataFrame(rows)


def _paired(change, is_full):
    if is_full:
        return "—"
    return f"{change.mean():+.3f} ± {change.std(ddof=1):.3f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["flights", "yeast"], default="flights")
    parser.add_argument("--base", choices=list(BASES), default="defaults")
    parser.add_argument(
        "--networks",
        type=int,
        default=1,
        help="n_networks of every row (default 1: a single network per model; the "
        "estimator's default of 5 costs five times as much)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run on 300 rows")
    parser.add_argument("--out", default=None, help="results folder")
    args = parser.parse_args(argv)
    limit_threads()
    start = time.perf_counter()
    results = run(args.dataset, args.base, args.quick, args.networks)
    out = quick_output_dir(args.quick, args.out)
    suffix = "" if args.base == "defaults" else "_" + args.base.replace("-", "_")
    stem = f"table3_{args.dataset}{suffix}"
    out.mkdir(parents=True, exist_ok=True)
    results.to_csv(out / f"{stem}.csv", index=False)
    base = effective_base(args.base, args.networks)
    blocks = [
        f"Data: `{args.dataset}`; five 80/20 splits (seeds 0-4); base "
        f"configuration `{args.base}`: `{base}`; {args.networks} network(s) per "
        "model. Mean over sub-tasks, then mean ± standard deviation over splits; "
        "Δ: paired difference from the full model on the same split.",
        markdown_table(ablation_table(results)),
        f"Total run time: {time.perf_counter() - start:.0f} s.",
    ]
    title = f"Table 3 (ablation) on {args.dataset}"
    path = write_markdown(out / f"{stem}.md", title, blocks)
    print(path)
    return path


if __name__ == "__main__":
    main()
