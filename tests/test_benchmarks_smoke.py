"""The benchmark scripts run and write their tables; the fast paths they time are exact.

Each script runs in-process in its ``--quick`` form (tiny sizes, numbers
meaningless, no timing asserted). The network and loss configurations the
benchmarks time (equal and unequal main tasks, linear and hidden task heads,
hundreds of binary sub-tasks, class weights, unlabeled entries) are checked
against straightforward per-sub-task references from the same weights.
"""

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = {
    "bench_scaling": "| sub-tasks | fit s |",
    "bench_arithmetic": "| fit / floor (wall) |",
    "bench_wrapper": "| network | HiSSClassifier.fit s | hand loop s |",
    "bench_end_to_end": "| model | CV wall s |",
    "bench_large": "| training rows per second |",
}


@pytest.fixture
def benchmarks(monkeypatch):
    """Import path of the scripts; torch's thread count restored afterwards."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_quick_run_writes_its_table_and_verdict(benchmarks, name, tmp_path):
    script = importlib.import_module(name)
    output = tmp_path / f"{name}.md"
    result = script.main(["--quick", "--output", str(output)])
    text = output.read_text()
    assert SCRIPTS[name] in text
    assert "- command: `python" in text and "torch" in text and "threads" in text
    assert "**met**" in text or "**missed**" in text
    ratios = result.values() if isinstance(result, dict) else [result]
    assert all(np.isfinite(r) and r > 0 for r in ratios)


def test_quick_run_without_output_writes_no_result_file(benchmarks, capsys):
    script = importlib.import_module("bench_wrapper")
    before = {p: p.stat().st_mtime for p in (BENCHMARKS / "results").glob("*.md")}
    script.main(["--quick"])
    after = {p: p.stat().st_mtime for p in (BENCHMARKS / "results").glob("*.md")}
    assert before == after
    assert "# Wrapper cost" in capsys.readouterr().out


# ---------------------------------------------------------------- exactness


def common():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module("_common")
    finally:
        sys.path.remove(str(BENCHMARKS))


def make_module(groups, n_classes=None, **units):
    from sklearn_hiss._network import HiSSModule

    main_index = np.repeat(np.arange(len(groups)), groups)
    n_classes = [2] * len(main_index) if n_classes is None else n_classes
    torch.manual_seed(0)
    return HiSSModule(6, main_index, n_classes, n_pseudo_classes=3, **units)


@pytest.mark.parametrize("groups", [(1,), (1, 1), (128, 128), (12, 5), (2, 7, 3)])
@pytest.mark.parametrize(
    "units",
    [
        dict(shared_units=(16,), local_units=(8,), task_units=()),
        dict(shared_units=(16,), local_units=(8, 4), task_units=()),
        dict(shared_units=(16,), local_units=(), task_units=()),
        dict(shared_units=(16,), local_units=(8,), task_units=(4,)),
    ],
)
def test_benchmarked_networks_equal_the_per_subtask_reference(groups, units):
    module = make_module(groups, **units)
    gap = common().reference_gap(module, torch.randn(11, 6))
    assert gap < 1e-5


def test_mixed_class_counts_with_grouped_heads_equal_the_reference():
    module = make_module((4, 2), [2, 3, 2, 4, 2, 2], task_units=())
    assert common().reference_gap(module, torch.randn(9, 6)) < 1e-5


class CountTorchCalls(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("task_units", [(), (4,)])
def test_forward_and_loss_op_count_does_not_grow_with_subtasks(task_units):
    from sklearn_hiss._network import HiSSLoss

    counts = []
    for n in (2, 256):
        module = make_module((n // 2, n // 2), task_units=task_units)
        loss = HiSSLoss(torch.ones(n), torch.ones(n, 2))
        targets = {"y": torch.randint(-1, 2, (8, n)), "pseudo": torch.zeros(8).long()}
        X = torch.randn(8, 6)
        with CountTorchCalls() as counter:
            loss(module(X), targets)
        counts.append(counter.calls)
    assert counts[0] == counts[1]


def reference_loss(logits, targets, task_weights, class_weights):
    """The masked mean of log-softmax cross-entropies, one sub-task at a time."""
    total = 0.0
    for t in range(targets.shape[1]):
        labeled = targets[:, t] >= 0
        if labeled.any():
            y = targets[labeled, t]
            nll = -torch.log_softmax(logits[labeled, t], dim=1)[torch.arange(len(y)), y]
            total = total + task_weights[t] * (class_weights[t, y] * nll).mean()
    return total


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_fast_loss_and_gradient_equal_the_reference(n_classes, weighted):
    from sklearn_hiss._network import HiSSLoss

    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(10, 5, n_classes, generator=generator, dtype=torch.float64)
    logits.requires_grad_(True)
    targets = torch.randint(-1, n_classes, (10, 5), generator=generator)
    targets[:, 0] = -1
    task_weights = torch.rand(5, generator=generator, dtype=torch.float64)
    class_weights = torch.ones(5, n_classes, dtype=torch.float64)
    if weighted:
        class_weights += torch.rand(5, n_classes, generator=generator)
    loss = HiSSLoss(task_weights, class_weights).supervised(logits, targets)
    expected = reference_loss(logits, targets, task_weights, class_weights)
    (grad,) = torch.autograd.grad(loss, logits)
    (expected_grad,) = torch.autograd.grad(expected, logits)
    torch.testing.assert_close(loss, expected)
    torch.testing.assert_close(grad, expected_grad)


def test_loss_leaves_the_targets_untouched():
    from sklearn_hiss._network import HiSSLoss

    targets = torch.tensor([[-1.0, 1.0], [0.0, -1.0]])
    kept = targets.clone()
    HiSSLoss(torch.ones(2), torch.ones(2, 2)).supervised(torch.randn(2, 2, 2), targets)
    assert torch.equal(targets, kept)


def test_flop_count_matches_the_layer_sizes():
    module = make_module((12, 5), shared_units=(256,), local_units=(128,))
    macs = 6 * 256 + 2 * 256 * 128 + 17 * (128 * 128 + 128 * 128 + 128) + 256 * 3
    assert common().forward_backward_flops(module) == 2 * (3 * macs - 6 * 256)


def test_two_class_loss_gives_binary_cross_entropy():
    from sklearn_hiss._network import HiSSLoss

    logits = F.pad(torch.randn(6, 3, 1), (1, 0))
    targets = torch.randint(0, 2, (6, 3))
    loss = HiSSLoss(torch.ones(3), torch.ones(3, 2)).supervised(logits, targets)
    bce = sum(
        F.binary_cross_entropy_with_logits(logits[:, t, 1], targets[:, t].float())
        for t in range(3)
    )
    torch.testing.assert_close(loss, bce)
