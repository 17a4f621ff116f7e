"""The skorch glue: tensor batches without per-row fetching, the loss hook, stopping.

Kept close to a hand-written loop: batches are cut from whole tensors with
``index_select``, modules are switched between train and eval mode only when the
mode changes, and Adam runs torch's fused kernel unless the caller chose an
implementation.
"""

import math

import numpy as np
import torch
from scipy.stats import rankdata
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping
from skorch.utils import to_tensor

__all__ = [
    "TensorBatches",
    "BatchIterator",
    "HiSSNet",
    "StopWhenStalled",
    "ValidationROCAUC",
    "scorable_subtasks",
]


class TensorBatches(torch.utils.data.Dataset):
    """Features and targets held as whole tensors; batches are cut by indexing.

    ``targets`` is a dict of tensors (sub-task labels ``"y"`` and pseudo-labels
    ``"pseudo"``), or None at prediction time.
    """

    def __init__(self, X, targets=None):
        self.X = X
        self.targets = targets

    def __len__(self):
        return len(self.X)

    def __getitem__(self, index):
        return self.take(index)

    def take(self, index):
        """Rows ``index`` (a slice or a tensor of positions) of X and the targets."""
        if self.targets is None:
            return _rows(self.X, index), None
        return _rows(self.X, index), {
            k: _rows(v, index) for k, v in self.targets.items()
        }


def _rows(tensor, index):
    # index_select is several times faster than advanced indexing on CPU.
    if isinstance(index, torch.Tensor):
        return tensor.index_select(0, index)
    return tensor[index]


class BatchIterator:
    """Yield ``(X, targets)`` batches by slicing whole tensors, optionally shuffled.

    A fresh permutation is drawn from a seeded generator at every pass, so a fit
    is reproducible and two passes differ.
    """

    def __init__(self, dataset, batch_size, shuffle=False, seed=0):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self):
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
            for start in range(0, n, self.batch_size):
                yield self.dataset.take(order[start : start + self.batch_size])
        else:
            for start in range(0, n, self.batch_size):
                yield self.dataset.take(slice(start, start + self.batch_size))


class StopWhenStalled(EarlyStopping):
    """skorch's early stopping, remembering that it (not the user) ended training."""

    def on_train_begin(self, net, **kwargs):
        self.stopped_ = False
        return super().on_train_begin(net, **kwargs)

    def on_epoch_end(self, net, **kwargs):
        try:
            super().on_epoch_end(net, **kwargs)
        except KeyboardInterrupt:
            self.stopped_ = True
            raise


class ValidationROCAUC(Callback):
    """Record ``valid_roc_auc``: mean ROC AUC over sub-tasks on the validation split.

    The logits of the validation batches are collected as skorch computes the
    validation loss, so no second forward pass is made. A sub-task's ROC AUC is
    that of its second class for binary sub-tasks and the mean one-vs-rest ROC
    AUC of its classes otherwise; sub-tasks whose labeled validation entries
    hold a single class are left out (see :func:`scorable_subtasks`).
    """

    def on_epoch_begin(self, net, **kwargs):
        self._logits, self._codes = [], []

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if not training:
            self._logits.append(y_pred[0].detach().cpu())
            self._codes.append(batch[1]["y"].cpu())

    def on_epoch_end(self, net, **kwargs):
        if not self._logits:
            return
        probas = torch.softmax(torch.cat(self._logits).double(), dim=2).numpy()
        codes = torch.cat(self._codes).numpy()
        scores = [
            _subtask_roc_auc(codes[:, t], probas[:, t]) for t in range(len(codes[0]))
        ]
        net.history.record("valid_roc_auc", float(np.nanmean(scores)))
        self._logits, self._codes = [], []

    def on_train_end(self, net, **kwargs):
        self._logits, self._codes = [], []


def scorable_subtasks(codes):
    """Whether any sub-task's labeled entries in `codes` hold two classes or more."""
    return any(
        len(np.unique(column[column >= 0])) > 1 for column in np.asarray(codes).T
    )


def _subtask_roc_auc(codes, probas):
    labeled = codes >= 0
    truth, probas = codes[labeled], probas[labeled]
    present = np.unique(truth)
    if len(present) < 2:
        return np.nan
    classes = present[1:] if len(present) == 2 else present
    return np.mean([_roc_auc(truth == c, probas[:, c]) for c in classes])


def _roc_auc(positive, scores):
    """ROC AUC from ranks (the Mann-Whitney U statistic), ties counted half.

    scikit-learn's ``roc_auc_score`` gives the same value but validates its
    input at every call, which cost more than training in an epoch.
    """
    ranks = rankdata(scores)
    n_pos = positive.sum()
    n_neg = len(positive) - n_pos
    return (ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


class HiSSNet(NeuralNet):
    """A skorch ``NeuralNet`` that trains a ``HiSSModule`` on ``TensorBatches``.

    Differences from ``NeuralNet``: datasets are passed in ready-made; the loss gets
    the targets dict and reports only the supervised part on validation batches; a
    non-finite loss stops training with an explanation; and a KeyboardInterrupt from
    the user is re-raised after the callbacks have cleaned up, instead of being
    swallowed (skorch's own early stopping still ends training quietly).

    For speed: Adam and AdamW get ``fused=True`` (one kernel per step instead of
    several per parameter) unless ``optimizer__fused`` or ``optimizer__foreach`` is
    given; and modules change train/eval mode only when it differs, instead of at
    every batch.
    """

    def get_dataset(self, X, y=None):
        if isinstance(X, TensorBatches):
            return X
        return TensorBatches(torch.as_tensor(X))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = to_tensor(y_true, device=self.device)
        loss = self.criterion_(y_pred, y_true, supervised_only=not training)
        value = loss.item()
        if not math.isfinite(value):
            raise FloatingPointError(
                f"HiSSClassifier training diverged: the loss became {value} "
                f"in epoch {len(self.history)}. Lower learning_rate (it is "
                f"{self.lr}) or check the features for extreme values."
            )
        return loss

    def get_params_for_optimizer(self, prefix, named_parameters):
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        chosen = {"fused", "foreach"} & kwargs.keys()
        if self.optimizer in _FUSED_OPTIMIZERS and not chosen:
            if _fused_supported(self.device):
                kwargs["fused"] = True
        return args, kwargs

    def _set_training(self, training=True):
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and module.training != training:
                module.train(training)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        fit_params.pop("_routing_method", None)
        if not self.initialized_:
            self.initialize()
        self.notify("on_train_begin", X=X, y=y)
        try:
            self.fit_loop(X, y, **fit_params)
        except KeyboardInterrupt:
            if not self._stopped_by_callback():
                self.notify("on_train_end", X=X, y=y)
                raise
        self.notify("on_train_end", X=X, y=y)
        return self

    def _stopped_by_callback(self):
        return any(getattr(cb, "stopped_", False) for _, cb in self.callbacks_)


_FUSED_OPTIMIZERS = (torch.optim.Adam, torch.optim.AdamW)


def _fused_supported(device):
    """Whether torch has a fused Adam kernel for ``device``."""
    kind = torch.device(device or "cpu").type
    return kind in ("cpu", "cuda", "mps", "xpu")
