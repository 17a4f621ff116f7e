"""Helpers shared by the benchmark scripts: one thread, timing, stamps, result files.

Every script times with ``time.perf_counter`` (wall) and ``time.process_time``
(CPU of this process), warms each case up once, runs the cases in interleaved
rounds and reports medians. Ratios are taken within a round and then the median
over rounds, so that a slow spell on a shared machine touches both sides of a
ratio alike. With one thread, CPU time is close to wall time on an idle machine
and is the steadier of the two on a busy one; both are printed.
"""

import os

# Before numpy, torch or scikit-learn start their thread pools.
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import platform  # noqa: E402
import shlex  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402

from sklearn_hiss._network import per_subtask_logits  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MATMUL_SIZE = 1536


def single_thread():
    """One torch thread and one BLAS/OpenMP thread for everything timed."""
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    return threadpool_limits(limits=1)


def parse_args(description, add_arguments=None, argv=None):
    """Common options: ``--quick``, ``--repeats``, ``--output``; plus the script's.

    ``--quick`` is a smoke run whose numbers mean nothing; it writes no result
    file unless ``--output`` names one.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed rounds (after a warm-up)"
    )
    parser.add_argument(
        "--output",
        default=None,
        help="result file (default benchmarks/results/<script>.md; none if --quick)",
    )
    if add_arguments is not None:
        add_arguments(parser)
    return parser.parse_args(argv)


# ------------------------------------------------------------------------ timing


@dataclass
class Timings:
    """Wall and CPU seconds of each timed run of one case."""

    wall: list = field(default_factory=list)
    cpu: list = field(default_factory=list)

    def median(self, kind="wall"):
        return statistics.median(getattr(self, kind))


def timed(function):
    """Run ``function()`` once; return (wall seconds, CPU seconds, its result)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def interleaved(cases, repeats, warm_up=True):
    """Time each callable of ``cases`` (name -> callable) in ``repeats`` rounds.

    Each case runs once untimed first; then every round runs every case once,
    in order on even rounds and in reverse order on odd ones, so that no case
    always follows the same neighbour. Returns name -> :class:`Timings`.
    """
    if warm_up:
        for function in cases.values():
            function()
    timings = {name: Timings() for name in cases}
    for round_ in range(repeats):
        order = list(cases.items())
        for name, function in order[:: -1 if round_ % 2 else 1]:
            wall, cpu, _ = timed(function)
            timings[name].wall.append(wall)
            timings[name].cpu.append(cpu)
    return timings


def round_ratio(numerator, denominator, kind="wall"):
    """Median over rounds of numerator / denominator, both from the same round."""
    pairs = zip(getattr(numerator, kind), getattr(denominator, kind))
    return statistics.median(a / b for a, b in pairs)


def matmul_gflops(repeats=5, size=MATMUL_SIZE):
    """Single-thread float32 GFLOP/s of (size x size) @ (size x size): (wall, CPU)."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)
    timings = interleaved({"mm": lambda: a @ b}, repeats)["mm"]
    flops = 2 * size**3 / 1e9
    return flops / timings.median(), flops / timings.median("cpu")


class TrainTimer(Callback):
    """A skorch callback recording the seconds between train begin and end."""

    def on_train_begin(self, net, **kwargs):
        self.started_ = time.perf_counter()

    def on_train_end(self, net, **kwargs):
        self.seconds_ = time.perf_counter() - self.started_


# ------------------------------------------------------------------------ memory


def rss_bytes():
    """Resident set size of this process now (Linux)."""
    return _status_kib("VmRSS") * 1024


def reset_peak_rss():
    """Make the kernel's peak-RSS mark equal to the current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_bytes():
    """Peak resident set size since the last :func:`reset_peak_rss` (Linux)."""
    return _status_kib("VmHWM") * 1024


def _status_kib(key):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise OSError(f"/proc/self/status has no {key} line on this system.")


# ------------------------------------------------------------------------ network


def forward_backward_flops(module):
    """FLOPs of one row through a HiSSModule, forward plus backward.

    Counts the matrix products only (2 FLOPs per multiply-add): each layer's
    forward, its weight gradient and, except for the first layer (the input
    needs no gradient), its input gradient. Linear heads count only the logits
    a sub-task uses.
    """
    layers = [(m.in_features, m.out_features, 1) for m in _linears(module.shared)]
    for group in (module.local, module.task):
        layers += [
            tuple(layer.weight.shape[1:]) + (len(layer.weight),) for layer in group
        ]
    n_subtasks, width = module.output.weight.shape[:2]
    free = int(_free_logits(module).sum())
    layers.append((width, free / n_subtasks, n_subtasks))
    if module.pseudo_head is not None:
        head = module.pseudo_head
        layers.append((head.in_features, head.out_features, 1))
    macs = [n_in * n_out * stacks for n_in, n_out, stacks in layers]
    return 2 * (3 * sum(macs) - macs[0])


def _linears(sequential):
    return [m for m in sequential if isinstance(m, torch.nn.Linear)]


def _free_logits(module):
    n_classes = (~module.padding).sum(1)
    return torch.where(n_classes == 2, 1, n_classes)


def reference_logits(module, X):
    """Logits of every sub-task computed one sub-task at a time (the paper's way).

    Uses the module's own weights with plain matrix products: the check that
    the batched network computes the same function.
    """
    n_classes = (~module.padding).sum(1).tolist()
    return per_subtask_logits(module, X, module.main_index.tolist(), n_classes)


def reference_gap(module, X):
    """Largest |batched - per-sub-task reference| logit difference on rows X."""
    X = torch.as_tensor(X, dtype=torch.float32)
    with torch.no_grad():
        logits, _ = module.eval()(X)
        expected = reference_logits(module, X)
    finite = torch.isfinite(expected)
    if not torch.equal(finite, torch.isfinite(logits)):
        return float("inf")
    return float((logits[finite] - expected[finite]).abs().max())


# ------------------------------------------------------------------------ report


def stamp(argv=None):
    """Markdown lines: command, date, versions, threads, machine, load."""
    import sklearn
    import skorch

    argv = sys.argv if argv is None else argv
    command = "python " + " ".join(shlex.quote(a) for a in argv)
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return [
        f"- command: `{command}`",
        f"- date: {now}; git commit: {_git_commit()}",
        f"- versions: python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {np.__version__}, scikit-learn {sklearn.__version__}, "
        f"skorch {skorch.__version__}",
        f"- threads: torch {torch.get_num_threads()}, interop "
        f"{torch.get_num_interop_threads()}; BLAS/OpenMP limited to 1",
        f"- machine: {_cpu_model()}, {os.cpu_count()} logical CPUs, "
        f"{_memory_gib():.0f} GiB RAM, {platform.system()} {platform.release()}",
        f"- load average (1, 5, 15 min) when the run started: {load}",
    ]


def _git_commit():
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return float("nan")


def table(headers, rows):
    """A markdown table; floats are shown with 3 significant digits."""
    cells = [[_cell(v) for v in row] for row in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(row) + " |" for row in cells]


def _cell(value):
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def verdict(measured, limit, what):
    """One line saying whether ``measured <= limit`` and by how much."""
    if measured <= limit:
        return f"**met**: {what} = {measured:.2f}x (target <= {limit}x)"
    return (
        f"**missed** by {measured / limit - 1:.0%}: {what} = {measured:.2f}x "
        f"(target <= {limit}x)"
    )


def write_report(name, title, header, body, args):
    """Print the report and write it to the result file unless a quick run.

    ``header`` is the stamp lines; ``body`` a list of markdown lines.
    """
    lines = [f"# {title}", "", *header, "", *body, ""]
    text = "\n".join(lines)
    print(text)
    output = args.output
    if output is None and not args.quick:
        output = RESULTS / f"{name}.md"
    if output is not None:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        Path(output).write_text(text)
    return text
