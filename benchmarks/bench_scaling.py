"""Fit time against the number of sub-tasks: the paper's Table 4 configuration.

One HiSSClassifier with linear task heads (``task_units=()``), a 256-unit globally
shared layer and a 128-unit locally shared layer per main task, on two main tasks
of equal size (one for a single sub-task), fitted on the same 1,700 rows x 17
features with pseudo-labels given (the generator's latent clusters, as a
passthrough column), batch size 128, the same number of epochs for every size.
Everything else is pinned as it was when ``results/bench_scaling.md`` was made,
not left to the estimator's defaults: one network (``n_networks=1``), no early
stopping, threshold 0.5, no class weights, ``alpha=1``.

Target: fit time for 256 sub-tasks at most 1.5x the time for 2. The column
"arithmetic" is the growth of the network's forward-plus-backward FLOPs over
2 sub-tasks, the part of the cost that has to grow.

    python benchmarks/bench_scaling.py            # writes results/bench_scaling.md
    python benchmarks/bench_scaling.py --quick    # smoke run, no file
"""

import _common
import numpy as np

from sklearn_hiss import HiSSClassifier
from sklearn_hiss.datasets import make_hierarchical_classification

TARGET = 1.5
SIZES = (1, 2, 4, 8, 16, 64, 256)
PAPER_SECONDS = {1: 32, 2: 34, 4: 38, 8: 44, 16: 60}
# What is timed: one network trained for a fixed number of epochs. Pinned so
# that a change of the estimator's defaults does not change the measurement.
FIXED = {
    "task_units": (),
    "alpha": 1.0,
    "class_weight": None,
    "decision_threshold": 0.5,
    "early_stopping": False,
    "n_networks": 1,
}


def add_arguments(parser):
    parser.add_argument("--epochs", type=int, default=50, help="epochs of each fit")
    parser.add_argument("--rows", type=int, default=1700, help="training rows")


def make_case(n_subtasks, n_rows, epochs):
    """A callable fitting the Table 4 network for ``n_subtasks``; and its timer."""
    tasks = (n_subtasks,) if n_subtasks == 1 else (n_subtasks // 2,) * 2
    bunch = make_hierarchical_classification(
        n_samples=n_rows, n_features=17, tasks=tasks, return_X_y=False, random_state=0
    )
    X = np.column_stack([bunch.data, bunch.clusters])
    timer = _common.TrainTimer()
    clf = HiSSClassifier(
        tasks=bunch.task_groups,
        pseudo_labels="passthrough",
        max_epochs=epochs,
        random_state=0,
        callbacks=[timer],
        **FIXED,
    )
    return (lambda: clf.fit(X, bunch.target)), timer, clf, bunch.data


def main(argv=None):
    args = _common.parse_args(__doc__.splitlines()[0], add_arguments, argv)
    sizes = (1, 2, 4) if args.quick else SIZES
    if args.quick:
        args.epochs, args.rows = 2, 300
    repeats = args.repeats or (1 if args.quick else 5)
    with _common.single_thread():
        header = _common.stamp(argv)
        cases = {n: make_case(n, args.rows, args.epochs) for n in sizes}
        train_seconds = {n: [] for n in sizes}

        def fit_and_record(n):
            def run():
                cases[n][0]()
                train_seconds[n].append(cases[n][1].seconds_)

            return run

        timings = _common.interleaved({n: fit_and_record(n) for n in sizes}, repeats)
    largest = max(sizes)
    gap = _common.reference_gap(cases[largest][2].net_.module_, cases[largest][3][:64])
    flops = {n: _common.forward_backward_flops(cases[n][2].net_.module_) for n in sizes}
    rows = [
        [
            n,
            timings[n].median(),
            _common.round_ratio(timings[n], timings[2]),
            _common.round_ratio(timings[n], timings[2], "cpu"),
            flops[n] / flops[2],
            float(np.median(train_seconds[n][-repeats:])),
            PAPER_SECONDS.get(n, ""),
            f"{PAPER_SECONDS[n] / PAPER_SECONDS[2]:.2f}" if n in PAPER_SECONDS else "",
        ]
        for n in sizes
    ]
    ratio = _common.round_ratio(timings[largest], timings[2])
    body = [
        f"{args.rows:,} rows x 17 features, linear task heads (task_units=()), "
        f"shared 256 / local 128, {args.epochs} epochs, batch size 128, one network, "
        "no early stopping, alpha=1, no class weights; median of "
        f"{repeats} interleaved rounds after one warm-up; ratios are the median of "
        "per-round ratios to 2 sub-tasks.",
        "",
        *_common.table(
            [
                "sub-tasks",
                "fit s",
                "x vs 2 (wall)",
                "x vs 2 (CPU)",
                "arithmetic x vs 2",
                "of which training loop s",
                "paper s",
                "paper x vs 2",
            ],
            rows,
        ),
        "",
        "- " + _common.verdict(ratio, TARGET, f"fit({largest}) / fit(2)"),
        f"- the optimised network equals the per-sub-task reference for {largest} "
        f"sub-tasks: largest logit difference {gap:.1e}.",
    ]
    _common.write_report("bench_scaling", "Scaling with sub-tasks", header, body, args)
    return ratio


if __name__ == "__main__":
    main()
