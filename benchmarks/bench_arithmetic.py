"""Arithmetic floor: fit time against the network's FLOPs at matmul speed.

The paper's network (globally shared 256, locally shared 128 per main task,
two task-specific layers of 128 per sub-task; 17 sub-tasks: 12 + 5; a 6-class
auxiliary head) is fitted on 1,700 rows x 17 features, batch size 128: one
network (``n_networks=1``) for a fixed number of epochs, ``alpha=1``, no class
weights, threshold 0.5, all pinned as when ``results/bench_arithmetic.md`` was
made rather than left to the estimator's defaults. Its floor
is the forward-plus-backward FLOPs of every row of every epoch divided by the
throughput of a 1536 x 1536 single-thread float32 matrix product, both
measured in the same run (in alternation, so a busy spell slows both alike).

Target: fit time at most 2.5x the floor. A profile of one fit shows where the
time goes.

    python benchmarks/bench_arithmetic.py          # writes results/bench_arithmetic.md
    python benchmarks/bench_arithmetic.py --quick  # smoke run, no file
"""

import statistics
import time

import _common
import numpy as np
import torch
from torch.profiler import profile

from sklearn_hiss import HiSSClassifier
from sklearn_hiss.datasets import make_hierarchical_classification

TARGET = 2.5
# The paper's network, one of it, a fixed number of epochs: pinned so that a
# change of the estimator's defaults does not change what is measured.
PAPER_NETWORK = {
    "shared_units": (256,),
    "local_units": (128,),
    "task_units": (128, 128),
    "alpha": 1.0,
    "class_weight": None,
    "decision_threshold": 0.5,
    "early_stopping": False,
    "n_networks": 1,
}
MATMUL_REPEATS = 5
CATEGORIES = {
    "matrix products": ("mm", "addmm", "bmm", "baddbmm", "linear", "matmul"),
    "optimiser (Adam)": ("adam", "fused_adam", "lerp", "addcdiv", "addcmul", "sqrt"),
    "ReLU forward and backward": ("relu", "threshold_backward", "clamp_min"),
    "loss": (
        "binary_cross_entropy",
        "log_sigmoid",
        "cross_entropy",
        "log_softmax",
        "nll_loss",
        "sigmoid",
        "twoclassloss",
        "twoclasslossbackward",
    ),
    "indexing and copies": (
        "index",
        "gather",
        "copy_",
        "cat",
        "pad",
        "clone",
        "reshape",
        "contiguous",
        "_to_copy",
    ),
}


def add_arguments(parser):
    parser.add_argument("--epochs", type=int, default=20, help="epochs of each fit")
    parser.add_argument("--rows", type=int, default=1700, help="training rows")


def make_fit(n_rows, epochs):
    bunch = make_hierarchical_classification(
        n_samples=n_rows,
        n_features=17,
        tasks=(12, 5),
        return_X_y=False,
        random_state=0,
    )
    X = np.column_stack([bunch.data, bunch.clusters])
    timer = _common.TrainTimer()
    clf = HiSSClassifier(
        tasks=bunch.task_groups,
        pseudo_labels="passthrough",
        max_epochs=epochs,
        random_state=0,
        callbacks=[timer],
        **PAPER_NETWORK,
    )
    return (lambda: clf.fit(X, bunch.target)), clf, timer, bunch.data


def matmul_products():
    """A callable running MATMUL_REPEATS 1536 x 1536 float32 products."""
    size = _common.MATMUL_SIZE
    generator = torch.Generator().manual_seed(0)
    a, b = (torch.randn(size, size, generator=generator) for _ in range(2))

    def run():
        for _ in range(MATMUL_REPEATS):
            a @ b

    return run


def where_time_goes(fit):
    """Self time per category of ops over one fit, with the rest as overhead."""
    start = time.perf_counter()
    with profile() as prof:
        fit()
    total = time.perf_counter() - start
    shares = dict.fromkeys(CATEGORIES, 0.0)
    shares["other ops"], others = 0.0, {}
    for event in prof.key_averages():
        if event.key.startswith(("Optimizer.", "autograd::", "ProfilerStep")):
            continue
        category = _category(event.key)
        shares[category] += event.self_cpu_time_total / 1e6
        if category == "other ops":
            others[event.key] = event.self_cpu_time_total / 1e6
    shares["Python, autograd and skorch overhead"] = total - sum(shares.values())
    largest = sorted(others.items(), key=lambda item: -item[1])[:3]
    label = "other ops (largest: " + ", ".join(name for name, _ in largest) + ")"
    shares[label] = shares.pop("other ops")
    return shares, total


def _category(name):
    op = name.split("::")[-1].lower().strip("_")
    for category, ops in CATEGORIES.items():
        if any(op == o or op.startswith(o + "_") or op.endswith(o) for o in ops):
            return category
    return "other ops"


def main(argv=None):
    args = _common.parse_args(__doc__.splitlines()[0], add_arguments, argv)
    if args.quick:
        args.epochs, args.rows = 1, 300
    repeats = args.repeats or (1 if args.quick else 5)
    with _common.single_thread():
        header = _common.stamp(argv)
        fit, clf, timer, X = make_fit(args.rows, args.epochs)
        loop_seconds = []

        def fit_and_record():
            fit()
            loop_seconds.append(timer.seconds_)

        cases = {"fit": fit_and_record, "matmul": matmul_products()}
        timings = _common.interleaved(cases, repeats)
        shares, profiled = where_time_goes(fit)
    module = clf.net_.module_
    flops_per_row = _common.forward_backward_flops(module)
    flops = flops_per_row * args.rows * args.epochs
    product = 2 * _common.MATMUL_SIZE**3
    floors = {
        kind: [
            flops * m / MATMUL_REPEATS / product
            for m in getattr(timings["matmul"], kind)
        ]
        for kind in ("wall", "cpu")
    }
    ratio = _median_ratio(timings["fit"].wall, floors["wall"])
    cpu_ratio = _median_ratio(timings["fit"].cpu, floors["cpu"])
    loop_ratio = _median_ratio(loop_seconds[-repeats:], floors["wall"])
    loop_share = _median_ratio(loop_seconds[-repeats:], timings["fit"].wall)
    gflops = product * MATMUL_REPEATS / timings["matmul"].median() / 1e9
    gap = _common.reference_gap(module, X[:64])
    body = [
        f"{args.rows:,} rows x 17 features, 17 sub-tasks (12 + 5), widths 256 / 128 / "
        f"128-128, 6 pseudo-label classes, batch size 128, {args.epochs} epochs, one "
        "network, alpha=1, no class weights, no early stopping; "
        f"fits and matmuls alternate in {repeats} rounds after one warm-up; ratios "
        "are medians of per-round ratios.",
        "",
        *_common.table(
            ["quantity", "value"],
            [
                ["forward + backward FLOPs per row", flops_per_row],
                ["FLOPs of the whole fit", f"{flops:.3g}"],
                ["1536 x 1536 matmul, GFLOP/s (1 thread)", gflops],
                [
                    "floor: FLOPs / matmul throughput, s",
                    statistics.median(floors["wall"]),
                ],
                ["HiSSClassifier.fit, s", timings["fit"].median()],
                ["of which skorch's training loop", f"{loop_share:.0%}"],
                ["fit / floor (wall)", ratio],
                ["fit / floor (CPU)", cpu_ratio],
                ["training loop / floor (wall)", loop_ratio],
            ],
        ),
        "",
        "- " + _common.verdict(ratio, TARGET, "fit / arithmetic floor"),
        f"- the optimised network equals the per-sub-task reference: largest logit "
        f"difference {gap:.1e}.",
        "",
        f"Where the time of one fit goes (torch.profiler, {profiled:.2f} s "
        "including profiling overhead):",
        "",
        *_common.table(
            ["part", "seconds", "share"],
            [[k, v, f"{v / profiled:.0%}"] for k, v in shares.items()],
        ),
    ]
    _common.write_report("bench_arithmetic", "Arithmetic floor", header, body, args)
    return ratio


def _median_ratio(numerators, denominators):
    return statistics.median(a / b for a, b in zip(numerators, denominators))


if __name__ == "__main__":
    main()
