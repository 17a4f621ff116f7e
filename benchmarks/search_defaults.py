"""Search the HiSSClassifier defaults on the flights data; confirm them on yeast.

Stages, each appending to ``benchmarks/results/search_defaults_log.md``:

``screen`` and ``screen2``
    One change at a time from a base configuration (early stopping, balanced
    class weights, F1 thresholds on the validation split; in round 2 also the
    raw features beside the factor scores), on three 80/20 splits of the
    flights data: which knobs move AUROC and F1 at all. Exploratory: it picks
    the axes of the grid, nothing more.
``nested``
    Nested cross-validation on the flights data over the grid: an outer
    shuffled 3-fold split; inside each outer training part a 3-fold inner
    cross-validation ranks every grid point by mean AUROC + mean F1 over
    sub-tasks; the winner is refitted on the outer training part and scored
    on the outer test fold, which no choice has seen, alone and as five
    cross-fitted networks. The outer scores estimate the performance of the
    whole procedure; the grid point chosen most often (ties: best mean inner
    score) becomes the default, recorded in ``PROPOSED_PARAMS`` of
    ``_reproduce.py``.
``confirm``
    The proposed defaults (``PROPOSED_PARAMS``), not tuned on yeast, on the
    yeast data (five 80/20 splits): five cross-fitted networks and one
    network. The first run confirmed the round-1 choice untouched; axes of a
    later round that stage 4 suggested are no longer untouched on yeast.
``whatif``
    Post hoc, on yeast: one change at a time from the proposed defaults
    (widths, alpha, epochs, learning rate, class weights, thresholds, inputs,
    regularisation), to show what the remaining gap to the baselines responds
    to. Run after the defaults were fixed and never used to choose them.

Run ``python benchmarks/search_defaults.py`` (all stages, about 75 minutes on
one CPU thread of a busy machine) or ``--stage NAME``; ``--quick`` is a
smoke run on a few hundred rows.
"""

import argparse
import itertools
import time

import numpy as np
from _reproduce import (
    PROPOSED_PARAMS,
    evaluate,
    hiss_pipeline,
    limit_threads,
    load,
    quick_output_dir,
    splits,
    stamp,
    summarise,
)
from sklearn.model_selection import KFold

BASE = {
    "early_stopping": True,
    "class_weight": "balanced",
    "decision_threshold": "f1",
    "stop_on": "loss",  # round 1 stopped on the loss (round 2 chose the metric)
}

SCREEN = {
    "base (early stopping, balanced, F1 threshold)": {},
    "no class weights": {"class_weight": None},
    "alpha=0": {"alpha": 0.0},
    "alpha=0.2": {"alpha": 0.2},
    "learning_rate=3e-3": {"learning_rate": 3e-3},
    "small: 64 / 32 / linear heads": {
        "shared_units": (64,),
        "local_units": (32,),
        "task_units": (),
    },
    "linear task heads (task_units=())": {"task_units": ()},
    "patience=20": {"patience": 20},
    "validation_fraction=0.2": {"validation_fraction": 0.2},
    "weight decay 1e-2": {"extras": {"weight_decay": 1e-2}},
    "weight decay 1e-1": {"extras": {"weight_decay": 1e-1}},
    "dropout 0.3": {"extras": {"dropout": 0.3}},
    "dropout 0.5, input dropout 0.1": {
        "extras": {"dropout": 0.5, "input_dropout": 0.1}
    },
    "linear path": {"extras": {"linear_path": True}},
    "inputs: factor scores + raw": {"inputs": "factors+raw"},
    "5 cross-fitted members": {"members": 5},
}

# Round 2: the input change that mattered in round 1, then the other knobs on
# top of it.
SCREEN_ROUND2 = {
    "factor scores + raw (round-2 base)": {},
    "+ alpha=0.2": {"alpha": 0.2},
    "+ alpha=0": {"alpha": 0.0},
    "+ linear task heads": {"task_units": ()},
    "+ learning_rate=3e-3": {"learning_rate": 3e-3},
    "+ dropout 0.3": {"extras": {"dropout": 0.3}},
    "+ weight decay 1e-2": {"extras": {"weight_decay": 1e-2}},
    "+ linear path": {"extras": {"linear_path": True}},
    "+ validation_fraction=0.2": {"validation_fraction": 0.2},
}


def _log(path, lines):
    with open(path, "a") as handle:
        handle.write("\n".join(lines) + "\n")
        handle.flush()


def _describe(summary):
    return (
        f"AUROC {summary['roc_auc_mean']:.3f} ± {summary['roc_auc_sd']:.3f} | "
        f"F1 {summary['f1_mean']:.3f} ± {summary['f1_sd']:.3f} | "
        f"accuracy {summary['accuracy_mean']:.3f} | "
        f"fit {summary['fit_s_mean']:.1f} s"
    )


def screen(log, quick, round_=1):
    bunch = load("flights", quick)
    split_list = splits(len(bunch.data), "holdout", quick)[:3]
    base = BASE if round_ == 1 else {**BASE, "inputs": "factors+raw"}
    changes = SCREEN if round_ == 1 else SCREEN_ROUND2
    title = f"## Stage 1, round {round_}: screen (flights, 80/20 splits, seeds 0-2)"
    _log(log, ["", title, "", f"Base: `{base}`", ""])
    _log(
        log,
        [
            "| change from base | AUROC | F1 | accuracy | fit s |",
            "|---|---|---|---|---|",
        ],
    )
    for name, change in list(changes.items())[: SIZES[quick]["screen"]]:
        params = {**base, **change}
        if quick:
            params["max_epochs"] = 5
        per_split, _ = evaluate(
            lambda seed, p=params: hiss_pipeline(bunch, seed, **p),
            bunch.data,
            bunch.target,
            split_list,
        )
        s = summarise(per_split)
        _log(
            log,
            [
                f"| {name} | {s['roc_auc_mean']:.3f} ± {s['roc_auc_sd']:.3f} | "
                f"{s['f1_mean']:.3f} ± {s['f1_sd']:.3f} | "
                f"{s['accuracy_mean']:.3f} | {s['fit_s_mean']:.1f} |"
            ],
        )


# The grid of the nested stage: the axes the screen found to matter, plus the
# two the issue asks about (alpha, widths). Everything else stays at BASE.
GRID_AXES = {
    "inputs": ["factors", "factors+raw"],
    "alpha": [0.0, 0.2, 1.0],
    "task_units": [(), (128, 128)],
}
# Round 2, after the post-hoc yeast analysis (stage 4) pointed at class weights,
# the locally shared level and early stopping on AUROC: those axes, decided
# again on flights alone, on top of the round-1 choice. This makes yeast a less
# clean confirmation for them; the log says so.
ROUND1_CHOICE = {"inputs": "factors+raw", "alpha": 0.2, "task_units": ()}
GRID_AXES2 = {
    "class_weight": [None, "balanced"],
    "local_units": [(), (128,)],
    "stop_on": ["loss", "auroc"],
}
GRIDS = {1: (BASE, GRID_AXES), 2: ({**BASE, **ROUND1_CHOICE}, GRID_AXES2)}
_ROUND_NOTES = {
    1: "",
    2: "The axes of this round were suggested by the post-hoc yeast analysis "
    "(stage 4); the choice is made on flights alone, but yeast is no longer an "
    "untouched confirmation for these axes. ",
}
# Folds and ensemble members of a full run and of a --quick smoke run.
SIZES = {
    False: {"outer": 3, "inner": 3, "members": 5, "screen": None, "grid": None},
    True: {"outer": 2, "inner": 2, "members": 2, "screen": 1, "grid": 2},
}


def grid_points(base, axes):
    """Every combination of the axes, as pipeline parameters on top of base."""
    keys = list(axes)
    return [
        {**base, **dict(zip(keys, values))}
        for values in itertools.product(*axes.values())
    ]


def _short(params, axes):
    return ", ".join(f"{k}={params[k]}" for k in axes)


def _score(summary):
    return summary["roc_auc_mean"] + summary["f1_mean"]


def _inner_scores(bunch, rows, grid, axes, outer_index, quick, log):
    """Mean inner-CV AUROC + F1 of every grid point on the outer training rows."""
    X, Y = bunch.data.iloc[rows], bunch.target.iloc[rows]
    folds = KFold(SIZES[quick]["inner"], shuffle=True, random_state=outer_index + 1)
    inner = [(k, tr, te) for k, (tr, te) in enumerate(folds.split(X))]
    scores = []
    for params in grid:
        per_split, _ = evaluate(
            lambda seed, p=params: hiss_pipeline(bunch, seed, **p), X, Y, inner
        )
        s = summarise(per_split)
        scores.append(_score(s))
        _log(log, [f"| {outer_index} | {_short(params, axes)} | {_describe(s)} |"])
    return np.array(scores)


def _outer_score(bunch, params, outer_index, train, test):
    per_split, _ = evaluate(
        lambda seed: hiss_pipeline(bunch, seed, **params),
        bunch.data,
        bunch.target,
        [(outer_index, train, test)],
    )
    return per_split.iloc[0]


def nested(log, quick, round_=1):
    """Nested CV on flights over the grid of a round; returns the chosen point."""
    bunch = load("flights", quick)
    size = SIZES[quick]
    base, axes = GRIDS[round_]
    grid = grid_points(base, axes)[: size["grid"]]
    if quick:
        grid = [{**p, "max_epochs": 3} for p in grid]
    outer = KFold(size["outer"], shuffle=True, random_state=0)
    _log(
        log,
        [
            "",
            f"## Stage 2, round {round_}: nested CV (flights; outer {size['outer']} "
            f"folds, "
            f"inner {size['inner']} folds, {len(grid)} grid points)",
            "",
            _ROUND_NOTES[round_] + f"Base: `{base}`.",
            "",
            "Inner scores (mean over inner folds):",
            "",
            "| outer fold | grid point | inner result |",
            "|---|---|---|",
        ],
    )
    all_scores, outer_rows = [], []
    for o, (train, test) in enumerate(outer.split(bunch.data)):
        scores = _inner_scores(bunch, train, grid, axes, o, quick, log)
        all_scores.append(scores)
        winner = grid[int(np.argmax(scores))]
        single = _outer_score(bunch, winner, o, train, test)
        members = {**winner, "members": size["members"]}
        crossfit = _outer_score(bunch, members, o, train, test)
        outer_rows.append((o, winner, single, crossfit))
    return _report_nested(log, grid, axes, np.array(all_scores), outer_rows)


def _report_nested(log, grid, axes, scores, outer_rows):
    winners = [_short(w, axes) for _, w, _, _ in outer_rows]
    lines = [
        "",
        "Outer folds (each winner refitted on the outer training rows, "
        "scored on the outer test fold):",
        "",
        "| outer fold | inner winner | AUROC | F1 | AUROC, 5 members | F1, 5 members |",
        "|---|---|---|---|---|---|",
    ]
    for o, winner, single, crossfit in outer_rows:
        lines.append(
            f"| {o} | {_short(winner, axes)} | {single.roc_auc:.3f} | "
            f"{single.f1:.3f} | {crossfit.roc_auc:.3f} | {crossfit.f1:.3f} |"
        )
    for label, index in (("single network", 2), ("5 cross-fitted members", 3)):
        auc = np.array([row[index].roc_auc for row in outer_rows])
        f1 = np.array([row[index].f1 for row in outer_rows])
        lines.append(
            f"\nNested-CV estimate, {label}: AUROC {auc.mean():.3f} ± "
            f"{auc.std(ddof=1):.3f}, F1 {f1.mean():.3f} ± {f1.std(ddof=1):.3f}."
        )
    mean_scores = scores.mean(axis=0)
    counts = {w: winners.count(w) for w in winners}
    chosen = max(
        range(len(grid)),
        key=lambda g: (counts.get(_short(grid[g], axes), 0), mean_scores[g]),
    )
    ranking = np.argsort(-mean_scores)
    lines += [
        "",
        "Grid points by mean inner AUROC + F1 over outer folds:",
        "",
        "| grid point | mean inner AUROC + F1 | times chosen |",
        "|---|---|---|",
    ]
    for g in ranking:
        name = _short(grid[g], axes)
        lines.append(f"| {name} | {mean_scores[g]:.4f} | {counts.get(name, 0)} |")
    chosen_name = _short(grid[chosen], axes)
    lines += ["", f"**Chosen:** `{chosen_name}` on top of the base."]
    _log(log, lines)
    return grid[chosen]


def confirm(log, quick):
    """The proposed defaults, not tuned on yeast, on yeast's five 80/20 splits."""
    bunch = load("yeast", quick)
    split_list = splits(len(bunch.data), "holdout", quick)
    proposed = dict(PROPOSED_PARAMS)
    if quick:
        proposed.update(max_epochs=3, members=SIZES[True]["members"])
    _log(
        log,
        [
            "",
            "## Stage 3: confirm on yeast (five 80/20 splits, seeds 0-4)",
            "",
            f"Proposed defaults (PROPOSED_PARAMS), applied unchanged: `{proposed}`",
            "",
            "| configuration | result |",
            "|---|---|",
        ],
    )
    rows = {"proposed defaults": proposed}
    if not quick:
        rows["proposed, one network"] = {**proposed, "members": 1}
    for name, params in rows.items():
        per_split, _ = evaluate(
            lambda seed, p=params: hiss_pipeline(bunch, seed, **p),
            bunch.data,
            bunch.target,
            split_list,
        )
        _log(log, [f"| {name} | {_describe(summarise(per_split))} |"])


# Post hoc, on yeast, after the defaults were fixed: what the remaining gap
# to the baselines responds to. Never used to choose a default.
WHATIF = {
    "proposed, one network (reference)": {},
    "alpha=1": {"alpha": 1.0},
    "wider: shared 512": {"shared_units": (512,)},
    "narrower: shared 64, local 32": {"shared_units": (64,), "local_units": (32,)},
    "no locally shared level": {"local_units": ()},
    "deep task heads (128, 128)": {"task_units": (128, 128)},
    "patience=30 (longer training)": {"patience": 30},
    "learning_rate=3e-4": {"learning_rate": 3e-4},
    "no class weights": {"class_weight": None},
    "threshold 0.5 instead of F1-tuned": {"decision_threshold": 0.5},
    "factor scores only": {"inputs": "factors"},
    "dropout 0.3": {"extras": {"dropout": 0.3}},
    "weight decay 1e-2": {"extras": {"weight_decay": 1e-2}},
    "stop on validation AUROC": {"stop_on": "auroc"},
    "no locally shared level, 5 members": {"local_units": (), "members": 5},
}


def whatif(log, quick):
    """Post-hoc sensitivity of the yeast result; never used to choose defaults."""
    bunch = load("yeast", quick)
    split_list = splits(len(bunch.data), "holdout", quick)
    base = {**PROPOSED_PARAMS, "members": 1}
    if quick:
        base["max_epochs"] = 3
    _log(
        log,
        [
            "",
            "## Stage 4 (post hoc): what the yeast gap responds to",
            "",
            "Single networks unless stated, five 80/20 splits of yeast, each "
            "row one change from the proposed defaults. Run after the "
            "defaults were fixed; not used to choose them.",
            "",
            "| change | result |",
            "|---|---|",
        ],
    )
    for name, change in list(WHATIF.items())[: SIZES[quick]["screen"]]:
        params = {**base, **change}
        if quick and "members" in change:
            params["members"] = SIZES[True]["members"]
        per_split, _ = evaluate(
            lambda seed, p=params: hiss_pipeline(bunch, seed, **p),
            bunch.data,
            bunch.target,
            split_list,
        )
        _log(log, [f"| {name} | {_describe(summarise(per_split))} |"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--stage",
        choices=["screen", "screen2", "nested", "confirm", "whatif", "nested2", "all"],
        default="all",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run on few rows")
    parser.add_argument("--out", default=None, help="results folder")
    args = parser.parse_args(argv)
    limit_threads()
    out = quick_output_dir(args.quick, args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "search_defaults_log.md"
    _log(
        log,
        ["", f"# Default search run of {time.strftime('%Y-%m-%d %H:%M')}", *stamp()],
    )
    if args.stage in ("screen", "all"):
        screen(log, args.quick)
    if args.stage in ("screen2", "all"):
        screen(log, args.quick, round_=2)
    if args.stage in ("nested", "all"):
        nested(log, args.quick)
    if args.stage in ("confirm", "all"):
        confirm(log, args.quick)
    if args.stage in ("whatif", "all"):
        whatif(log, args.quick)
    if args.stage in ("nested2", "all"):
        nested(log, args.quick, round_=2)
    return log


if __name__ == "__main__":
    main()
