"""The HiSS network and its loss, in torch.

Every level past the globally shared one is computed for all main tasks, or all
sub-tasks, at once: the weights of one level are stacked into a single tensor and
applied with one batched matrix product, so the number of torch operations in a
forward pass does not depend on the number of sub-tasks.

Hidden representations past the globally shared level are kept stack-major,
``(n_stacks, batch, width)``, so that each stacked layer is one ``baddbmm`` with no
transposed copies. Linear task heads read each main task's representation directly
(grouped by main task), instead of first copying it once per sub-task.
"""

import math

import torch
from torch import nn
from torch.autograd.function import once_differentiable
from torch.nn import functional as F

__all__ = ["HiSSModule", "HiSSLoss"]


class StackedLinear(nn.Module):
    """``n_stacks`` independent linear layers applied in one batched operation.

    ``weight`` has shape (n_stacks, in, out) and ``bias`` (n_stacks, out);
    initialised like ``nn.Linear``. ``forward`` maps stack-major input
    (n_stacks, batch, in) to (n_stacks, batch, out); ``broadcast`` applies every
    stack to one shared input (batch, in), giving (n_stacks, batch, out), with an
    optional elementwise ``activation`` applied to the result.
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
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight)

    def broadcast(self, x, activation=None):
        n_stacks, n_in, n_out = self.weight.shape
        # One (batch, in) x (in, n_stacks * out) product for all stacks.
        weight = self.weight.transpose(0, 1).reshape(n_in, n_stacks * n_out)
        out = torch.addmm(self.bias.reshape(-1), x, weight)
        if activation is not None:
            # Applied before the transposed view: an in-place op on a view would
            # cost autograd a scatter into a zeroed copy of the whole output.
            out = activation(out)
        return out.view(len(x), n_stacks, n_out).transpose(0, 1)


class SubtaskHeads(StackedLinear):
    """The output layer of every sub-task, returning batch-first free logits.

    With ``group_index`` (the main task of each sub-task) the heads read their main
    task's representation (n_groups, batch, in) directly: the heads of one main
    task form a single (in, n_heads * out) matrix, padded to the largest main task
    so that all groups go through one ``baddbmm``. Without it, the input is
    already per sub-task, (n_subtasks, batch, in). Either way the output is
    (batch, n_subtasks, out).
    """

    def __init__(self, n_stacks, in_features, out_features, group_index=None):
        super().__init__(n_stacks, in_features, out_features)
        self.grouped = group_index is not None
        if self.grouped:
            padded, position = _group_layout(torch.as_tensor(group_index))
            self.register_buffer("padded_index", padded, persistent=False)
            self.register_buffer("padded_position", position, persistent=False)
            self.identity_layout = bool(torch.equal(padded, torch.arange(n_stacks)))

    def forward(self, h):
        if not self.grouped:
            return super().forward(h).transpose(0, 1)
        n_groups, n_in, n_out = len(h), self.weight.shape[1], self.weight.shape[2]
        weight, bias = self.weight, self.bias
        if not self.identity_layout:
            weight = weight.index_select(0, self.padded_index)
            bias = bias.index_select(0, self.padded_index)
        weight = weight.view(n_groups, -1, n_in, n_out).transpose(1, 2)
        weight = weight.reshape(n_groups, n_in, -1)
        out = torch.baddbmm(bias.view(n_groups, 1, -1), h, weight)
        out = out.transpose(0, 1).reshape(h.shape[1], -1, n_out)
        if self.identity_layout:
            return out
        return out.index_select(1, self.padded_position)


def _group_layout(group_index):
    """Padded slot -> sub-task, and sub-task -> padded slot, grouping by main task.

    Each group gets as many slots as the largest group; spare slots hold sub-task
    0 (their outputs are computed and never read).
    """
    n_groups = int(group_index.max()) + 1
    counts = torch.bincount(group_index, minlength=n_groups)
    width = int(counts.max())
    order = torch.argsort(group_index, stable=True)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.arange(len(group_index)) - starts[group_index[order]]
    position = torch.empty_like(group_index)
    position[order] = group_index[order] * width + rank
    padded = torch.zeros(n_groups * width, dtype=torch.long)
    padded[position] = torch.arange(len(group_index))
    return padded, position


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
        self.output = SubtaskHeads(
            n_subtasks,
            width,
            int(n_free.max()),
            group_index=None if task_units else main_index,
        )

        slot_index, padding = _class_slots(n_classes)
        self.all_binary = bool((n_classes == 2).all())
        self.register_buffer("main_index", main_index, persistent=False)
        self.register_buffer("slot_index", slot_index, persistent=False)
        self.register_buffer("padding", padding, persistent=False)

    def forward(self, X):
        h_shared = self.shared(X)
        h = self._main_task_representations(h_shared)
        if len(self.task):
            h = h.index_select(0, self.main_index)
            for layer in self.task:
                h = torch.relu_(layer(h))
        free = self.output(h)
        if self.all_binary:
            logits = F.pad(free, (1, 0))
        else:
            logits = _place_logits(free, self.slot_index, self.padding)
        if self.pseudo_head is None:
            return logits, h_shared.new_zeros((len(X), 0))
        return logits, self.pseudo_head(h_shared)

    def _main_task_representations(self, h_shared):
        """Locally shared layers: (batch, width) -> (n_main, batch, width)."""
        if not len(self.local):
            return h_shared.unsqueeze(0)
        h = self.local[0].broadcast(h_shared, activation=torch.relu_)
        for layer in self.local[1:]:
            h = torch.relu_(layer(h))
        return h


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

    def entry_weights(self, targets, dtype=torch.float32):
        """Weight of each (row, sub-task) entry in the summed loss, and its class.

        An entry weighs its class weight times its task weight, divided by the
        number of labeled rows of its sub-task in the batch; unlabeled entries
        (negative targets) weigh 0 and are given class 0. Computed in floating
        point, which is exact for class codes and faster than integer masks.
        """
        codes = targets.to(dtype, copy=True)
        labeled = (codes + 1).clamp_(max=1)
        safe_codes = codes.clamp_(min=0)
        per_task = self.task_weights / labeled.sum(0).clamp_(min=1)
        first = self.class_weights[:, :1]
        if torch.equal(self.class_weights, first.expand_as(self.class_weights)):
            # Classes weigh alike within each sub-task (the default).
            return labeled.mul_(per_task * first[:, 0]), safe_codes
        if self.class_weights.shape[1] == 2:
            low, high = self.class_weights.unbind(1)
            class_weights = torch.lerp(low, high, safe_codes)
        else:
            class_weights = self.class_weights.T.gather(0, safe_codes.long())
        return class_weights.mul_(labeled).mul_(per_task), safe_codes

    def supervised(self, logits, targets):
        weights, safe_codes = self.entry_weights(targets, logits.dtype)
        if logits.shape[2] == 2:
            return _TwoClassLoss.apply(logits, safe_codes, weights)
        nll = F.cross_entropy(
            logits.flatten(0, 1), safe_codes.long().flatten(), reduction="none"
        )
        return torch.dot(nll, weights.flatten())

    def forward(self, outputs, targets, supervised_only=False):
        logits, pseudo_logits = outputs
        loss = self.supervised(logits, targets["y"])
        if supervised_only or self.alpha == 0 or pseudo_logits.shape[1] == 0:
            return loss
        return loss + self.alpha * F.cross_entropy(pseudo_logits, targets["pseudo"])


class _TwoClassLoss(torch.autograd.Function):
    """Weighted sum of two-class cross-entropies, as one autograd node.

    Two-class cross-entropy is the logistic loss of the logit difference
    ``logits[..., 1] - logits[..., 0]``. Autograd would route its gradient back
    through a split and a stack of the two logit columns; here the gradient of
    both columns is written at once.
    """

    @staticmethod
    def forward(ctx, logits, targets, weights):
        margin = logits[..., 1] - logits[..., 0]
        ctx.save_for_backward(margin, targets, weights)
        return F.binary_cross_entropy_with_logits(
            margin, targets, weight=weights, reduction="sum"
        )

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        margin, targets, weights = ctx.saved_tensors
        grad_margin = (torch.sigmoid(margin) - targets).mul_(weights * grad_output)
        signs = grad_margin.new_tensor([-1.0, 1.0])
        return grad_margin.unsqueeze(-1) * signs, None, None


def per_subtask_logits(module, X, main_index, n_classes):
    """Logits of `module` computed one sub-task at a time, as the paper writes it.

    A plain loop over sub-tasks with the module's own weights and no batching:
    the reference that tests and benchmarks compare the batched forward pass
    with. ``main_index`` gives each sub-task's main task and ``n_classes`` its
    number of classes, as the module was built with.
    """
    h_shared = module.shared(X)
    logits = torch.full((len(X), len(main_index), max(n_classes)), float("-inf"))
    for t, (m, k) in enumerate(zip(main_index, n_classes)):
        h = h_shared
        for layer in module.local:
            h = F.relu(h @ layer.weight[m] + layer.bias[m])
        for layer in module.task:
            h = F.relu(h @ layer.weight[t] + layer.bias[t])
        free = h @ module.output.weight[t] + module.output.bias[t]
        if k == 2:
            logits[:, t, 0], logits[:, t, 1] = 0.0, free[:, 0]
        else:
            logits[:, t, :k] = free[:, :k]
    return logits
