"""Data-parallel training of the HiSS network through Hugging Face Accelerate.

Imported only when a ``HiSSClassifier(device="accelerate")`` fits. Every process
of the launch holds all rows and the same random state; skorch's
``AccelerateMixin`` wraps the network for data-parallel training, and a
:class:`~sklearn_hiss._distributed.ShardedBatchIterator` gives each process its
own piece of every batch (Accelerate splits only its own data loaders). After
training, the weights move into an ordinary ``HiSSNet``, so the fitted
classifier predicts, pickles and saves like any other, in every process.
"""

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import broadcast_object_list
from skorch.hf import AccelerateMixin

from ._distributed import ShardedBatchIterator
from ._skorch import HiSSNet

__all__ = [
    "AcceleratedHiSSNet",
    "accelerated_net",
    "make_accelerator",
    "process_seed",
    "shared_seed",
    "to_plain_net",
]


class AcceleratedHiSSNet(AccelerateMixin, HiSSNet):
    """A ``HiSSNet`` whose module, criterion and optimizer Accelerate prepares.

    Batches come from the net's own iterators (every process its piece of the
    training batches) and are moved to the accelerator's device.
    """

    def get_iterator(self, dataset, training=False):
        batches = HiSSNet.get_iterator(self, dataset, training=training)
        return _OnDevice(batches, self.accelerator.device)

    def _initialize_accelerator(self):
        # On CPUs Accelerate wraps every prepared module in
        # DistributedDataParallel, which refuses one without parameters, such
        # as the loss; the loss only needs to sit on the device.
        criteria, self._criteria = self._criteria, []
        try:
            super()._initialize_accelerator()
        finally:
            self._criteria = criteria
        for name in criteria:
            getattr(self, name + "_").to(self.accelerator.device)
        return self


class _OnDevice:
    """Batches of ``(X, targets)`` moved to ``device`` as they are drawn."""

    def __init__(self, batches, device):
        self.batches = batches
        self.device = device

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        for X, targets in self.batches:
            if targets is not None:
                targets = {k: v.to(self.device) for k, v in targets.items()}
            yield X.to(self.device), targets


def make_accelerator():
    """An ``Accelerator`` for this launch, on the CPU when torch sees no accelerator.

    Without ``cpu=True`` Accelerate treats processes started on a machine
    without GPUs as unrelated single processes, each training on all rows.
    """
    return Accelerator(cpu=not torch.accelerator.is_available())


def shared_seed(seed):
    """Process 0's ``seed`` in every process of the launch."""
    values = [int(seed)]
    broadcast_object_list(values, from_process=0)
    return values[0]


def accelerated_net(settings, accelerator):
    """An ``AcceleratedHiSSNet`` with ``settings``; Accelerate places the tensors."""
    # Kept wrapped until to_plain_net: skorch unwraps before the callbacks'
    # on_train_end, where early stopping restores the best weights it saved
    # from the wrapped module.
    settings = dict(
        settings, device=None, accelerator=accelerator, unwrap_after_train=False
    )
    # skorch's PrintLog prints to any sink other than print even when not
    # verbose; Accelerate's print writes from the main process only.
    settings["callbacks__print_log__sink"] = (
        accelerator.print if settings.get("verbose") else _quiet
    )
    settings.update(
        iterator_train=ShardedBatchIterator,
        iterator_train__num_processes=accelerator.num_processes,
        iterator_train__process_index=accelerator.process_index,
    )
    return AcceleratedHiSSNet(**settings)


def to_plain_net(net, settings):
    """An ordinary ``HiSSNet`` holding ``net``'s weights, optimizer state and history.

    Its device is the one the process trained on (e.g. ``"cuda:1"``).
    """
    device = net.accelerator.device
    plain = HiSSNet(
        **dict(settings, device="cpu" if device.type == "cpu" else str(device))
    )
    plain.initialize()
    module = net.accelerator.unwrap_model(net.module_, keep_fp32_wrapper=False)
    plain.module_.load_state_dict(module.state_dict())
    plain.optimizer_.load_state_dict(net.optimizer_.state_dict())
    plain.history = net.history
    return plain


def _quiet(text):
    """Where the epoch table goes when the classifier is not verbose."""


def process_seed(random_state, rng):
    """The seed of every process: ``random_state`` if an int, else process 0's draw."""
    if isinstance(random_state, int | np.integer):
        return int(random_state)
    return shared_seed(rng.randint(np.iinfo(np.int32).max))
