"""The batched HiSS network and its loss, against straightforward references."""

import numpy as np
import pytest
import torch
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

from sklearn_hiss._network import HiSSLoss, HiSSModule, per_subtask_logits


class CountTorchCalls(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls += 1
        return func(*args, **(kwargs or {}))


def make_module(n_per_main, n_classes=None, **units):
    main_index = np.repeat(np.arange(len(n_per_main)), n_per_main)
    if n_classes is None:
        n_classes = [2] * len(main_index)
    torch.manual_seed(0)
    module = HiSSModule(7, main_index, n_classes, n_pseudo_classes=4, **units)
    return module.eval(), main_index


ABLATIONS = [
    dict(shared_units=(), local_units=(), task_units=()),
    dict(shared_units=(), local_units=(), task_units=(16,)),
    dict(shared_units=(), local_units=(16,), task_units=(16,)),
    dict(shared_units=(32,), local_units=(), task_units=(16,)),
    dict(shared_units=(32,), local_units=(16,), task_units=(16, 8)),
    dict(shared_units=(32, 16), local_units=(16, 8), task_units=()),
]


@pytest.mark.parametrize("units", ABLATIONS)
def test_batched_network_equals_per_subtask_reference(units):
    n_classes = [2] * 12 + [3, 2, 4, 2, 2]
    module, main_index = make_module((12, 5), n_classes, **units)
    X = torch.randn(9, 7)
    with torch.no_grad():
        logits, pseudo = module(X)
        expected = per_subtask_logits(module, X, main_index, n_classes)
    torch.testing.assert_close(logits, expected)
    assert pseudo.shape == (9, 4)


def test_binary_softmax_equals_sigmoid_of_free_logit():
    module, _ = make_module((3,))
    captured = {}
    module.output.register_forward_hook(
        lambda mod, args, out: captured.setdefault("free", out)
    )
    with torch.no_grad():
        logits, _ = module(torch.randn(5, 7))
    proba = torch.softmax(logits, dim=2)[:, :, 1]
    torch.testing.assert_close(proba, torch.sigmoid(captured["free"][:, :, 0]))


def count_forward_calls(n_subtasks):
    module, _ = make_module((n_subtasks // 2, n_subtasks - n_subtasks // 2))
    X = torch.randn(4, 7)
    with torch.no_grad(), CountTorchCalls() as counter:
        module(X)
    return counter.calls


def test_forward_op_count_does_not_grow_with_subtasks():
    assert count_forward_calls(2) == count_forward_calls(64)


def test_pseudo_head_absent_gives_empty_output():
    main_index = [0, 0, 1]
    module = HiSSModule(7, main_index, [2, 2, 2], n_pseudo_classes=0)
    _, pseudo = module(torch.randn(3, 7))
    assert pseudo.shape == (3, 0)


def loss_inputs(n_rows=6, n_classes=(2, 2, 3)):
    module = HiSSModule(5, [0, 0, 1], list(n_classes), n_pseudo_classes=3)
    outputs = module(torch.randn(n_rows, 5))
    targets = torch.tensor([[0, 1, 2]] * n_rows)
    pseudo = torch.arange(n_rows) % 3
    return outputs, {"y": targets, "pseudo": pseudo}


def make_loss(n_subtasks=3, alpha=1.0, class_weights=None):
    if class_weights is None:
        class_weights = torch.ones(n_subtasks, 3)
    return HiSSLoss(torch.ones(n_subtasks), class_weights, alpha)


def test_binary_loss_is_bce_with_logits():
    outputs, targets = loss_inputs()
    logits = outputs[0]
    loss = make_loss().supervised(logits, targets["y"])
    bce = sum(
        F.binary_cross_entropy_with_logits(logits[:, t, 1], targets["y"][:, t].float())
        for t in range(2)
    )
    ce = F.cross_entropy(logits[:, 2, :3], targets["y"][:, 2])
    torch.testing.assert_close(loss, bce + ce)


def test_unlabeled_entries_are_masked_and_empty_subtask_adds_zero():
    outputs, targets = loss_inputs()
    full = make_loss().supervised(outputs[0], targets["y"])
    masked = targets["y"].clone()
    masked[:, 0] = -1
    loss = make_loss().supervised(outputs[0], masked)
    without_first = full - F.binary_cross_entropy_with_logits(
        outputs[0][:, 0, 1], targets["y"][:, 0].float()
    )
    assert torch.isfinite(loss)
    torch.testing.assert_close(loss, without_first)


def test_unlabeled_rows_still_train_the_auxiliary_head():
    outputs, targets = loss_inputs()
    targets["y"][:] = -1
    loss = make_loss(alpha=0.5)(outputs, targets)
    expected = 0.5 * F.cross_entropy(outputs[1], targets["pseudo"])
    torch.testing.assert_close(loss, expected)
    loss.backward()


def test_supervised_only_leaves_out_the_auxiliary_term():
    outputs, targets = loss_inputs()
    loss = make_loss(alpha=3.0)
    torch.testing.assert_close(
        loss(outputs, targets, supervised_only=True),
        loss.supervised(outputs[0], targets["y"]),
    )


def test_class_weights_scale_each_class():
    outputs, targets = loss_inputs()
    weights = torch.ones(3, 3)
    weights[0, 0] = 4.0
    targets["y"][:3, 0] = 1
    plain = make_loss().supervised(outputs[0], targets["y"])
    weighted = make_loss(class_weights=weights).supervised(outputs[0], targets["y"])
    zero_rows = F.binary_cross_entropy_with_logits(
        outputs[0][3:, 0, 1], torch.zeros(3), reduction="sum"
    )
    torch.testing.assert_close(weighted - plain, 3.0 * zero_rows / 6)
