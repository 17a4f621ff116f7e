"""Large data: training throughput, peak memory, and prediction time against forests.

One HiSSClassifier network (SOM pseudo-labels fitted inside ``fit``, whose
silhouette grid choice scores a sample of rows) on ``--rows`` rows (default
1,000,000) x 50 float32 features x 17 sub-tasks (12 + 5) from the synthetic
generator, for ``--epochs`` epochs. What is measured is pinned, not left to the
estimator's defaults: one network (``n_networks=1``), no early stopping,
threshold 0.5; the layers and class weights are the defaults, and the report
names them. Reported: rows per second of the training
loop; the peak resident memory during ``fit`` above the process's resident
memory just before it, against the size of the float32 input (target: at most
2x); and ``predict`` time on ``--predict-rows`` rows (default 100,000) beside the
demo's RandomForest (one 100-tree forest per sub-task) trained on
``--forest-rows`` rows (forests trained on more rows grow deeper and predict
more slowly, so this favours the forests).

    python benchmarks/bench_large.py                  # writes results/bench_large.md
    python benchmarks/bench_large.py --rows 200000    # a smaller run
    python benchmarks/bench_large.py --quick          # smoke run, no file
"""

import gc

import _common
import numpy as np
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.multioutput import MultiOutputClassifier

from sklearn_hiss import HiSSClassifier, SOMPseudoLabeler
from sklearn_hiss.datasets import make_hierarchical_classification

MEMORY_TARGET = 2.0
N_FEATURES = 50
# One network trained for a fixed number of epochs on every row: pinned so that
# a change of the estimator's defaults does not change the measurement.
FIXED = {"n_networks": 1, "early_stopping": False, "decision_threshold": 0.5}


def add_arguments(parser):
    parser.add_argument("--rows", type=int, default=1_000_000, help="training rows")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs")
    parser.add_argument(
        "--predict-rows", type=int, default=100_000, help="rows to predict"
    )
    parser.add_argument(
        "--forest-rows", type=int, default=5_000, help="rows the forests train on"
    )
    parser.add_argument("--trees", type=int, default=100, help="trees per forest")


def make_data(n_rows):
    """float32 features and the labels; the float64 original is released."""
    bunch = make_hierarchical_classification(
        n_samples=n_rows,
        n_features=N_FEATURES,
        tasks=(12, 5),
        return_X_y=False,
        random_state=0,
    )
    X = bunch.data.astype(np.float32)
    Y, groups = bunch.target, bunch.task_groups
    del bunch
    gc.collect()
    return X, Y, groups


class MemoryMarks(_common.Callback):
    """Peak memory before training starts (preprocessing, SOM) and from then on."""

    def __init__(self, baseline=0):
        self.baseline = baseline

    def on_train_begin(self, net, **kwargs):
        self.before_training_ = _common.peak_rss_bytes() - self.baseline
        self.at_training_ = _common.rss_bytes() - self.baseline
        _common.reset_peak_rss()


def fit_with_memory(clf, X, Y):
    """Fit; return (wall s, CPU s, peak growth bytes, marks, whether exact)."""
    gc.collect()
    marks = MemoryMarks(_common.rss_bytes())
    clf.set_params(callbacks=[*clf.callbacks, marks])
    exact = _common.reset_peak_rss()
    wall, cpu, _ = _common.timed(lambda: clf.fit(X, Y))
    after = _common.peak_rss_bytes() - marks.baseline
    return wall, cpu, max(marks.before_training_, after), marks, exact


def _settings(clf, epochs):
    """The measured configuration, as keyword arguments a reader can paste."""
    params = clf.get_params()
    names = [*FIXED, "shared_units", "local_units", "task_units", "alpha"]
    settings = [f"{name}={params[name]!r}" for name in [*names, "class_weight"]]
    return ", ".join([*settings, f"max_epochs={epochs}"])


def main(argv=None):
    args = _common.parse_args(__doc__.splitlines()[0], add_arguments, argv)
    if args.quick:
        args.rows, args.predict_rows, args.forest_rows, args.trees = 2000, 500, 300, 3
    repeats = args.repeats or 1
    with _common.single_thread():
        header = _common.stamp(argv)
        X, Y, groups = make_data(args.rows)
        timer = _common.TrainTimer()
        clf = HiSSClassifier(
            tasks=groups,
            max_epochs=args.epochs,
            random_state=0,
            callbacks=[timer],
            **FIXED,
        )
        if args.quick:
            clf.set_params(pseudo_labels=SOMPseudoLabeler(n_iterations=200))
        # Imports and first-call set-up belong to the process, not to the data.
        clone(clf).set_params(max_epochs=1).fit(X[:500], Y[:500])
        wall, cpu, growth, marks, exact = fit_with_memory(clf, X, Y)
        forest = MultiOutputClassifier(
            RandomForestClassifier(n_estimators=args.trees, random_state=0)
        )
        forest_fit = _common.timed(
            lambda: forest.fit(X[: args.forest_rows], Y[: args.forest_rows])
        )[0]
        rows = X[: args.predict_rows]
        predict = _common.interleaved(
            {
                "HiSS": lambda: clf.predict(rows),
                "forests": lambda: forest.predict(rows),
            },
            repeats,
        )
    n_train = args.rows * args.epochs
    memory_ratio = growth / X.nbytes
    body = [
        f"{args.rows:,} rows x {N_FEATURES} float32 features "
        f"({X.nbytes / 2**20:,.0f} MiB) x 17 sub-tasks (12 + 5); HiSSClassifier "
        f"with {_settings(clf, args.epochs)}, SOM pseudo-labels fitted in fit; "
        f"prediction timed as the median of {repeats} interleaved rounds after one "
        "warm-up.",
        "",
        *_common.table(
            ["quantity", "value"],
            [
                ["fit, wall s", wall],
                ["fit, CPU s", cpu],
                ["of which the training loop, s", timer.seconds_],
                ["training rows per second", n_train / timer.seconds_],
                ["peak memory growth during fit, MiB", growth / 2**20],
                [
                    "  before training starts (standardising, SOM), MiB",
                    marks.before_training_ / 2**20,
                ],
                ["  held when training starts, MiB", marks.at_training_ / 2**20],
                ["peak memory growth / float32 input", memory_ratio],
                [
                    f"HiSS predict on {args.predict_rows:,} rows, s",
                    predict["HiSS"].median(),
                ],
                [
                    f"17 forests ({args.trees} trees, trained on {args.forest_rows:,} "
                    f"rows in {forest_fit:.0f} s) predict, s",
                    predict["forests"].median(),
                ],
                [
                    "HiSS predict / forests predict",
                    _common.round_ratio(predict["HiSS"], predict["forests"]),
                ],
            ],
        ),
        "",
        "- "
        + _common.verdict(memory_ratio, MEMORY_TARGET, "peak memory growth / input"),
    ]
    if not exact:
        body.append(
            "- this system cannot reset the peak-memory mark: the growth is measured "
            "from the process's peak so far, a lower bound."
        )
    _common.write_report("bench_large", "Large data", header, body, args)
    return memory_ratio


if __name__ == "__main__":
    main()
