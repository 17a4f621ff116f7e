"""Peak memory of training from data on disk: partial_fit on chunks, fit on a memmap.

Writes a synthetic data set of N rows (20 float32 features, 5 binary sub-tasks
in 2 main tasks, int8 labels) to .npy files, chunk by chunk, then trains one
epoch over it in a fresh process per case:

- ``partial_fit``: chunks of 100,000 rows read from the memory-mapped files,
  the default SOM pseudo-labeler fitted on the first chunk;
- ``fit``: one ``fit`` on the memory-mapped arrays (``max_epochs=1``, no
  pseudo-labels: the default SOM would copy all rows as float64).

Memory is the growth of the process's anonymous resident memory (RssAnon, read
every 5 ms) over its level just before training, so pages of the mapped files,
which the kernel can drop, do not count. Both cases train one network with no
validation split (``n_networks=1``, no early stopping, threshold 0.5, no class
weights, ``alpha=1``), pinned as when ``results/scale_streaming.md`` was made
rather than left to the estimator's defaults. Run from the repository root:

    python benchmarks/scale_streaming.py                 # 1M, 3M and 10M rows
    python benchmarks/scale_streaming.py --quick         # smoke run, no file
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
N_FEATURES, MAIN_TASKS, CHUNK = 20, (3, 2), 100_000
MODEL = {
    "tasks": {"a": MAIN_TASKS[0], "b": MAIN_TASKS[1]},
    "shared_units": (64,),
    "local_units": (32,),
    "task_units": (),
    "batch_size": 1024,
    "random_state": 0,
    # One network, no validation split: not the estimator's defaults.
    "alpha": 1.0,
    "class_weight": None,
    "decision_threshold": 0.5,
    "early_stopping": False,
    "n_networks": 1,
}


def write_data(folder, n_rows, seed=0):
    """X (float32) and Y (int8) as .npy files, from one fixed logistic teacher."""
    rng = np.random.default_rng(seed)
    n_tasks = sum(MAIN_TASKS)
    main = np.repeat(np.arange(len(MAIN_TASKS)), MAIN_TASKS)
    weights = rng.normal(size=(N_FEATURES, len(MAIN_TASKS)))[:, main]
    weights += 0.5 * rng.normal(size=(N_FEATURES, n_tasks))
    X = np.lib.format.open_memmap(
        folder / "X.npy", mode="w+", dtype=np.float32, shape=(n_rows, N_FEATURES)
    )
    Y = np.lib.format.open_memmap(
        folder / "Y.npy", mode="w+", dtype=np.int8, shape=(n_rows, n_tasks)
    )
    for start in range(0, n_rows, 1_000_000):
        rows = slice(start, min(start + 1_000_000, n_rows))
        block = rng.normal(size=(rows.stop - start, N_FEATURES)).astype(np.float32)
        noise = rng.logistic(size=(len(block), n_tasks))
        X[rows] = block
        Y[rows] = (block @ weights / 3 + noise > 1.5).astype(np.int8)
    X.flush()
    Y.flush()
    del X, Y


class PeakAnonymousMemory:
    """Samples RssAnon of this process in a thread; ``growth`` is peak minus start."""

    def __init__(self, every=0.005):
        self.every = every
        self.start = self.peak = _rss_anon()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_anon())

    def _sample(self):
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, _rss_anon())

    @property
    def growth(self):
        return self.peak - self.start


def _rss_anon():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("/proc/self/status has no RssAnon line.")


def run_case(case, folder):
    """One training in this process; prints a JSON line with time and memory."""
    import torch

    torch.set_num_threads(1)
    X = np.load(folder / "X.npy", mmap_mode="r")
    Y = np.load(folder / "Y.npy", mmap_mode="r")
    train(case, X[:2000], Y[:2000])  # libraries' one-time set-up is not growth
    start = time.perf_counter()
    with PeakAnonymousMemory() as memory:
        clf = train(case, X, Y)
    seconds = time.perf_counter() - start
    score = clf.score(X[:CHUNK], Y[:CHUNK])
    print(json.dumps({"growth": memory.growth, "seconds": seconds, "score": score}))


def train(case, X, Y):
    from sklearn_hiss import HiSSClassifier

    if case == "fit":
        return HiSSClassifier(**MODEL, max_epochs=1, pseudo_labels=None).fit(X, Y)
    clf = HiSSClassifier(**MODEL)
    for first in range(0, len(X), CHUNK):
        clf.partial_fit(X[first : first + CHUNK], Y[first : first + CHUNK])
    return clf


def measure(case, folder):
    command = [sys.executable, __file__, "--case", case, "--folder", str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def report(rows, command):
    import sklearn
    import torch

    import sklearn_hiss

    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Streaming fits: peak memory growth against data size",
        "",
        f"_Generated by `{command}` on {stamp}._  ",
        f"_Versions: sklearn-hiss {sklearn_hiss.__version__}, scikit-learn "
        f"{sklearn.__version__}, torch {torch.__version__}, numpy {np.__version__}, "
        f"python {platform.python_version()}; {os.cpu_count()} CPUs, "
        "1 torch thread._",
        "",
        f"{N_FEATURES} float32 features, {sum(MAIN_TASKS)} binary sub-tasks (int8), "
        f"one network, one epoch, no validation split; partial_fit in chunks of "
        f"{CHUNK:,} rows. Growth is the peak "
        "of anonymous resident memory (RssAnon) over its level before training; "
        "pages of the memory-mapped files do not count.",
        "",
        "| rows | X on disk | case | peak growth | growth / X float32 | time s "
        "| accuracy |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for n_rows, case, result in rows:
        x_bytes = n_rows * N_FEATURES * 4
        lines.append(
            f"| {n_rows:,} | {x_bytes / 2**20:,.0f} MiB | {case} | "
            f"{result['growth'] / 2**20:,.0f} MiB | "
            f"{result['growth'] / x_bytes:.2f} | {result['seconds']:.0f} | "
            f"{result['score']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run, no file")
    parser.add_argument("--sizes", default="1000000,3000000,10000000")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        return run_case(args.case, Path(args.folder))

    sizes = [200_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n_rows in sizes:
            write_data(Path(tmp), n_rows)
            for case in ("partial_fit", "fit"):
                rows.append((n_rows, case, measure(case, Path(tmp))))
                print(n_rows, case, rows[-1][2], flush=True)
    command = "python benchmarks/" + " ".join([Path(__file__).name, *sys.argv[1:]])
    text = report(rows, command)
    print(text)
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "scale_streaming.md").write_text(text)


if __name__ == "__main__":
    main()
