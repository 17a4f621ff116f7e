"""Running fits elsewhere: torch threads inside Dask workers, one share of rows each.

Two pieces that need neither Dask nor Accelerate to be installed:

- :func:`dask_worker_threads` says how many torch threads a fit may use when it
  runs as a task in a Dask worker (for example under joblib's ``"dask"``
  backend), so that the tasks of one machine do not oversubscribe its cores.
- :class:`ShardedBatchIterator` cuts every training batch into equal pieces, one
  per process of a data-parallel fit, so that each process trains on its own
  share of the rows and all processes take the same number of steps.
"""

import os
import sys

import joblib
import torch

from ._skorch import BatchIterator

__all__ = ["ShardedBatchIterator", "dask_worker_threads"]


def dask_worker_threads():
    """Torch threads for one task of the Dask worker running this code.

    A Dask worker runs ``nthreads`` tasks at once. Each may use the threads
    named by the worker process's ``OMP_NUM_THREADS`` (Dask's nanny sets it to
    1 unless the environment that starts the workers sets it), or else the
    machine's cores shared evenly among the worker's task threads.

    Returns
    -------
    n_threads : int or None
        None when this code does not run inside a Dask worker.
    """
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return None
    try:
        worker = distributed.get_worker()
    except ValueError:
        return None
    return threads_per_task(worker.state.nthreads)


def threads_per_task(n_task_threads):
    """``OMP_NUM_THREADS`` when set to a positive int, else cores per task thread."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    if value.strip().isdigit() and int(value) > 0:
        return int(value)
    return max(1, joblib.cpu_count() // max(1, n_task_threads))


class ShardedBatchIterator(BatchIterator):
    """Training batches of one process among ``num_processes`` training together.

    Every process draws the same order of rows (same seed) and cuts each batch
    of ``batch_size`` rows into ``num_processes`` equal pieces; process
    ``process_index`` takes its piece. So ``batch_size`` keeps its meaning from
    a one-process fit: one optimiser step sees ``batch_size`` rows in all (the
    piece size is rounded up so that it divides evenly). When the rows do not
    fill the pieces evenly, the first rows of the order fill the gap, so that
    every process takes the same number of steps, as data-parallel training
    requires.

    Parameters
    ----------
    dataset : TensorBatches
        All training rows; every process holds the same ones.
    batch_size : int
        Rows per optimiser step, summed over processes.
    shuffle : bool, default=False
        Draw a fresh order of rows at each pass.
    seed : int, default=0
        Seed of the order; must be the same in every process.
    num_processes : int, default=1
        Processes training together.
    process_index : int, default=0
        This process's position among them, from 0.
    """

    def __init__(
        self,
        dataset,
        batch_size,
        shuffle=False,
        seed=0,
        num_processes=1,
        process_index=0,
    ):
        super().__init__(dataset, batch_size, shuffle=shuffle, seed=seed)
        if not 0 <= process_index < num_processes:
            raise ValueError(
                f"process_index must lie in [0, num_processes={num_processes}); "
                f"got {process_index}."
            )
        self.num_processes = num_processes
        self.process_index = process_index
        self.piece = -(-batch_size // num_processes)

    def __len__(self):
        return -(-self._padded_length() // (self.piece * self.num_processes))

    def __iter__(self):
        order = self._padded_order()
        step = self.piece * self.num_processes
        for start in range(0, len(order), step):
            rows = order[start : start + step]
            size = len(rows) // self.num_processes
            mine = rows[self.process_index * size : (self.process_index + 1) * size]
            yield self.dataset.take(mine)

    def _padded_length(self):
        return -(-len(self.dataset) // self.num_processes) * self.num_processes

    def _padded_order(self):
        n = len(self.dataset)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
        else:
            order = torch.arange(n)
        missing = self._padded_length() - n
        if missing == 0:
            return order
        repeats = -(-missing // n)
        return torch.cat([order, order.repeat(repeats)[:missing]])
