"""The HiSS network and its loss, in torch.

Every level past the globally shared one is computed for all main tasks, or all
sub-tasks, at once: weights of one level are stacked into a single tensor and applied
with one ``einsum``, so the number of torch operations in a forward pass does not
depend on the number of sub-tasks.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["HiSSModule", "HiSSLoss"]


class StackedLinear(nn.Module):
    """``n_stacks`` independent linear layers applied in one batched operation.

    Input of shape (batch, n_stacks, in) or (batch, in) (the same input for every
    stack); output of shape (batch, n_stacks, out). Initialised like ``nn.Linear``.
    """

    def __init__(self, n_stacks, in_features, out_features):
        super().__init__()
        bound = 1.0 / math.sqrt(in_features) if in_features else 0.0
        self.weight = nn.Parameter(
            torch.empty(n_stacks, in_features, out_features).uniform_(-bound, bound)
        )
        self.bias = nn.Parameter(
            torch.empty(n_stacks, out_features).uniform_(-bound, bound)
        )

    def forward(self, x):
        if x.dim() == 2:
            return torch.einsum("bi,sio->bso", x, self.weight) + self.bias
        return torch.einsum("bsi,sio->bso", x, self.weight) + self.bias


def _dense_stack(n_features, units):
    layers = []
    for width in units:
        layers += [nn.Linear(n_features, width), nn.ReLU()]
        n_features = width
    return nn.Sequential(*layers), n_features


def _stacked_layers(n_stacks, n_features, units):
    layers = nn.ModuleList()
    for width in units:
        layers.append(StackedLinear(n_stacks, n_features, width))
        n_features = width
    return layers, n_features


class HiSSModule(nn.Module):
    """Globally shared, locally shared and task-specific layers, plus an auxiliary head.

    Parameters
    ----------
    n_features : int
        Width of the input.
    main_index : sequence of int
        For each sub-task, the position of its main task.
    n_classes : sequence of int
        Number of classes of each sub-task (at least 2).
    shared_units, local_units, task_units : tuple of int
        Hidden widths of the globally shared layers, of each main task's locally
        shared layers and of each sub-task's own layers. An empty tuple removes
        that level (every sub-task always keeps its own output layer).
    n_pseudo_classes : int
        Classes of the auxiliary task; 0 for no auxiliary head.

    The forward pass returns ``(logits, pseudo_logits)``: logits of shape
    (batch, n_subtasks, max_classes), where a binary sub-task has one free logit
    (its first class is pinned at 0, so softmax equals the sigmoid of the paper) and
    the unused class slots of smaller sub-tasks hold ``-inf``; and pseudo-label
    logits of shape (batch, n_pseudo_classes).
    """

    def __init__(
        self,
        n_features,
        main_index,
        n_classes,
        shared_units=(256,),
        local_units=(128,),
        task_units=(128, 128),
        n_pseudo_classes=0,
    ):
        super().__init__()
        main_index = torch.as_tensor(main_index, dtype=torch.long)
        n_classes = torch.as_tensor(n_classes, dtype=torch.long)
        n_subtasks, n_main = len(main_index), int(main_index.max()) + 1

        self.shared, width = _dense_stack(n_features, shared_units)
        self.pseudo_head = (
            nn.Linear(width, n_pseudo_classes) if n_pseudo_classes else None
        )
        self.local, width = _stacked_layers(n_main, width, local_units)
        if not local_units:
            main_index = torch.zeros_like(main_index)
        self.task, width = _stacked_layers(n_subtasks, width, task_units)
        n_free = torch.where(n_classes == 2, 1, n_classes)
        self.output = StackedLinear(n_subtasks, width, int(n_free.max()))

        slot_index, padding = _class_slots(n_classes)
        self.register_buffer("main_index", main_index, persistent=False)
        self.register_buffer("slot_index", slot_index, persistent=False)
        self.register_buffer("padding", padding, persistent=False)

    def forward(self, X):
        h_shared = self.shared(X)
        h = h_shared
        for layer in self.local:
            h = F.relu(layer(h))
        if h.dim() == 2:
            h = h.unsqueeze(1)
        h = h.index_select(1, self.main_index)
        for layer in self.task:
            h = F.relu(layer(h))
        free = self.output(h)
        logits = _place_logits(free, self.slot_index, self.padding)
        if self.pseudo_head is None:
            return logits, h_shared.new_zeros((len(X), 0))
        return logits, self.pseudo_head(h_shared)


def _class_slots(n_classes):
    """Where each class's logit comes from among ``[0, free logits...]``."""
    n_max = int(n_classes.max())
    slots = torch.arange(n_max).expand(len(n_classes), n_max)
    binary = (n_classes == 2).unsqueeze(1)
    slot_index = torch.where(binary, slots, slots + 1)
    padding = slots >= n_classes.unsqueeze(1)
    return slot_index.masked_fill(padding, 0).contiguous(), padding


def _place_logits(free, slot_index, padding):
    pinned = free.new_zeros(free.shape[:2] + (1,))
    candidates = torch.cat([pinned, free], dim=2)
    index = slot_index.unsqueeze(0).expand(len(free), -1, -1)
    logits = torch.gather(candidates, 2, index)
    return logits.masked_fill(padding, float("-inf"))


class HiSSLoss(nn.Module):
    """Weighted sum of sub-task cross-entropies plus ``alpha`` times the auxiliary one.

    Unlabeled entries (target ``-1``) are masked out. Each sub-task's loss is the
    mean over its labeled rows in the batch (zero when it has none), weighted by
    its class weights and its task weight; the sub-task losses are summed.

    Parameters
    ----------
    task_weights : tensor of shape (n_subtasks,)
    class_weights : tensor of shape (n_subtasks, max_classes)
    alpha : float
        Weight of the auxiliary pseudo-label task.
    """

    def __init__(self, task_weights, class_weights, alpha=1.0):
        super().__init__()
        self.register_buffer("task_weights", torch.as_tensor(task_weights))
        self.register_buffer("class_weights", torch.as_tensor(class_weights))
        self.alpha = float(alpha)

    def supervised(self, logits, targets):
        labeled = targets >= 0
        safe_targets = targets.clamp(min=0)
        log_p = torch.log_softmax(logits, dim=2)
        nll = -torch.gather(log_p, 2, safe_targets.unsqueeze(2)).squeeze(2)
        weights = self.class_weights.gather(1, safe_targets.T).T * labeled
        n_labeled = labeled.sum(0).clamp(min=1)
        per_task = (nll.masked_fill(~labeled, 0.0) * weights).sum(0) / n_labeled
        return (per_task * self.task_weights).sum()

    def forward(self, outputs, targets, supervised_only=False):
        logits, pseudo_logits = outputs
        loss = self.supervised(logits, targets["y"])
        if supervised_only or self.alpha == 0 or pseudo_logits.shape[1] == 0:
            return loss
        return loss + self.alpha * F.cross_entropy(pseudo_logits, targets["pseudo"])
