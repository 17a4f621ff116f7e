"""Speed-up of a grid search on a Dask cluster: two worker processes against one.

The same GridSearchCV over alpha, widths and learning rate runs through
joblib's ``"dask"`` backend on a LocalCluster of 1 and of 2 worker processes
(one thread each, on 127.0.0.1), in alternating rounds after a warm-up, and once
in this process with ``n_jobs=1`` as the baseline. Every fit is seeded, so all
runs must find the same scores; the script checks that they do. Each fit is one
network (``n_networks=1``) trained for a fixed number of epochs, with no class
weights and threshold 0.5, pinned as when ``results/scale_dask.md`` was made
rather than left to the estimator's defaults. Workers are
started and have imported torch and sklearn-hiss before any timing. Run from the
repository root:

    python benchmarks/scale_dask.py               # 12 candidates x 2 folds, 2 rounds
    python benchmarks/scale_dask.py --quick       # smoke run, no file
"""

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def search(quick):
    from sklearn.model_selection import GridSearchCV

    from sklearn_hiss import HiSSClassifier

    grid = {
        "alpha": [0.0, 0.2, 1.0] if not quick else [0.0, 1.0],
        "shared_units": [(64,), (128,)],
        "learning_rate": [1e-3, 3e-3] if not quick else [1e-3],
    }
    estimator = HiSSClassifier(
        tasks={"month": 12, "hour": 5},
        task_units=(),
        max_epochs=3 if quick else 10,
        random_state=0,
        # One network, fixed epochs: what the recorded speed-up measured.
        class_weight=None,
        decision_threshold=0.5,
        early_stopping=False,
        n_networks=1,
    )
    return GridSearchCV(estimator, grid, cv=2)


def data(quick):
    from sklearn_hiss.datasets import make_hierarchical_classification

    return make_hierarchical_classification(
        n_samples=400 if quick else 1600, tasks=(12, 5), random_state=0
    )


def start_cluster(n_workers):
    """A loopback LocalCluster and a client whose workers have imported torch."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    client = Client(cluster, set_as_default=False)
    client.run(_import_libraries)
    return client


def _import_libraries():
    import torch  # noqa: F401

    import sklearn_hiss._classifier  # noqa: F401


def timed_search(X, Y, quick, client=None):
    """Wall seconds, CPU seconds (this process and the workers) and the scores."""
    import joblib

    grid_search = search(quick)
    cpu = _cpu_seconds(client)
    start = time.perf_counter()
    if client is None:
        grid_search.fit(X, Y)
    else:
        with joblib.parallel_config(backend="dask", client=client):
            grid_search.set_params(n_jobs=-1).fit(X, Y)
    wall = time.perf_counter() - start
    cpu = _cpu_seconds(client) - cpu
    return wall, cpu, grid_search.cv_results_["mean_test_score"]


def _cpu_seconds(client):
    own = time.process_time()
    if client is None:
        return own
    return own + sum(client.run(_process_cpu_seconds).values())


def _process_cpu_seconds():
    return time.process_time()


def run(quick, rounds):
    import torch

    torch.set_num_threads(1)
    X, Y = data(quick)
    clusters = {n: start_cluster(n) for n in (1, 2)}
    clients = {0: None, **clusters}  # 0: this process, n_jobs=1
    times = {n: [] for n in clients}
    cpu = {n: [] for n in clients}
    try:
        reference = None
        for _ in range(rounds + 1):  # the first round warms up
            for n, client in clients.items():
                seconds, cpu_seconds, scores = timed_search(X, Y, quick, client)
                reference = scores if reference is None else reference
                if not np.array_equal(scores, reference):
                    raise AssertionError(f"{n} worker(s) found other scores.")
                times[n].append(seconds)
                cpu[n].append(cpu_seconds)
    finally:
        for client in clusters.values():
            cluster = client.cluster
            client.close()
            cluster.close(timeout=30)
    drop_warm_up = {n: t[1:] for n, t in times.items()}
    return drop_warm_up, {n: c[1:] for n, c in cpu.items()}, len(reference)


def report(times, cpu, n_rows, n_candidates, command, load):
    import dask
    import distributed
    import joblib
    import sklearn
    import torch

    import sklearn_hiss

    local, one, two = (statistics.median(times[n]) for n in (0, 1, 2))
    busy = {n: statistics.median(cpu[n]) / statistics.median(times[n]) for n in cpu}
    ratios = [a / b for a, b in zip(times[1], times[2])]
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            "# Grid search on Dask: 2 worker processes against 1",
            "",
            f"_Generated by `{command}` on {stamp}._  ",
            f"_Versions: sklearn-hiss {sklearn_hiss.__version__}, dask "
            f"{dask.__version__}, distributed {distributed.__version__}, joblib "
            f"{joblib.__version__}, scikit-learn {sklearn.__version__}, torch "
            f"{torch.__version__}, python {platform.python_version()}; "
            f"{os.cpu_count()} CPUs; load average {load[0]:.1f} before, "
            f"{load[1]:.1f} after._",
            "",
            f"GridSearchCV, {n_candidates} candidates x 2 folds of HiSSClassifier "
            f"(17 sub-tasks in 2 main tasks, {n_rows:,} rows, default SOM "
            "pseudo-labels, one network per fit, fixed epochs, "
            "seeded, so one torch thread per fit). LocalCluster on 127.0.0.1, one "
            "thread per worker process; medians of "
            f"{len(times[1])} alternating rounds after a warm-up round. All runs "
            "found identical scores.",
            "",
            "| run | wall s | speed-up over 1 worker | CPU s | cores busy |",
            "|---|---:|---:|---:|---:|",
            f"| this process, n_jobs=1 | {local:.1f} | | "
            f"{statistics.median(cpu[0]):.1f} | {busy[0]:.2f} |",
            f"| Dask, 1 worker | {one:.1f} | 1.00 | "
            f"{statistics.median(cpu[1]):.1f} | {busy[1]:.2f} |",
            f"| Dask, 2 workers | {two:.1f} | {statistics.median(ratios):.2f} | "
            f"{statistics.median(cpu[2]):.1f} | {busy[2]:.2f} |",
            "",
            "CPU s: CPU time of this process and of the worker processes during "
            "the search; cores busy: CPU s / wall s. On an idle machine two "
            "workers keep about two cores busy; where other work holds the cores "
            "(see the load average), the speed-up is capped by the cores left.",
            "",
        ]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, no file")
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds")
    args = parser.parse_args()
    before = os.getloadavg()[0]
    times, cpu, n_candidates = run(args.quick, 1 if args.quick else args.rounds)
    command = "python benchmarks/" + " ".join([Path(__file__).name, *sys.argv[1:]])
    load = (before, os.getloadavg()[0])
    n_rows = 400 if args.quick else 1600
    text = report(times, cpu, n_rows, n_candidates, command, load)
    print(text)
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "scale_dask.md").write_text(text)


if __name__ == "__main__":
    main()
