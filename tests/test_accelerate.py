"""Data-parallel training through Hugging Face Accelerate: device="accelerate".

The two-process test starts two CPU processes of this file, which meet through a
file on disk (no TCP rendezvous) and talk over gloo on the loopback interface.
Each records the rows it trained on; both must hold the same model, which must
predict like a one-process fit.
"""

import os
import pickle
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sklearn_hiss import HiSSClassifier
from sklearn_hiss._distributed import ShardedBatchIterator
from sklearn_hiss._skorch import BatchIterator, HiSSNet, TensorBatches
from sklearn_hiss.datasets import make_hierarchical_classification

N_ROWS, BATCH_SIZE, EPOCHS = 512, 64, 3
# Early stopping and tuned thresholds: a validation split, and best weights
# restored at the end, in every process alike.
STOPPING = {
    "early_stopping": True,
    "patience": 3,
    "max_epochs": 100,
    "decision_threshold": "f1",
}
# The defaults' cross-fitting with two networks: each holds out one fold.
CROSS_FITTED = {**STOPPING, "n_networks": 2}


def rows_dataset(n):
    return TensorBatches(torch.zeros(n, 1), {"y": torch.arange(n)})


def passes(iterator):
    return [batch[1]["y"].tolist() for batch in iterator]


# ------------------------------------------------------- one share per process


@pytest.mark.parametrize("n", [10, 13, 64, 65])
@pytest.mark.parametrize(("batch_size", "world"), [(4, 2), (5, 2), (6, 3), (1, 2)])
def test_each_process_takes_an_equal_share_of_every_batch(n, batch_size, world):
    shards = [
        ShardedBatchIterator(
            rows_dataset(n), batch_size, True, 7, num_processes=world, process_index=r
        )
        for r in range(world)
    ]
    for _ in range(2):  # two passes, two different orders
        pieces = [passes(shard) for shard in shards]
        assert {len(p) for p in pieces} == {len(shards[0])}
        for step in zip(*pieces):
            assert len({len(piece) for piece in step}) == 1
        rows = sorted(row for p in pieces for piece in p for row in piece)
        padded = -(-n // world) * world
        assert len(rows) == padded
        assert set(rows) == set(range(n))  # every row, the padding repeats a few


def test_the_pieces_of_a_step_form_the_one_process_batch():
    single = passes(BatchIterator(rows_dataset(64), 8, shuffle=True, seed=3))
    shards = [
        passes(ShardedBatchIterator(rows_dataset(64), 8, True, 3, 2, r))
        for r in range(2)
    ]
    assert [a + b for a, b in zip(*shards)] == single
    assert passes(ShardedBatchIterator(rows_dataset(64), 8, True, 3, 1, 0)) == single


def test_a_process_index_outside_the_launch_is_refused():
    with pytest.raises(ValueError, match=r"process_index must lie in \[0, "):
        ShardedBatchIterator(rows_dataset(4), 2, num_processes=2, process_index=2)


# ----------------------------------------------------------------- the model


def data():
    X, Y = make_hierarchical_classification(
        n_samples=N_ROWS, tasks=(3, 2), random_state=0
    )
    return np.column_stack([X, np.arange(N_ROWS)]), Y  # last column: row id


def hiss(**params):
    settings = {
        "tasks": {"a": 3, "b": 2},
        "shared_units": (32,),
        "local_units": (16,),
        "task_units": (),
        "batch_size": BATCH_SIZE,
        "max_epochs": EPOCHS,
        # One network trained a fixed number of epochs with the threshold 0.5
        # unless a test asks for more (STOPPING, CROSS_FITTED).
        "early_stopping": False,
        "decision_threshold": 0.5,
        "n_networks": 1,
        "random_state": 0,
    }
    return HiSSClassifier(**{**settings, **params})


def positive_probabilities(clf, X):
    return np.stack([p[:, 1] for p in clf.predict_proba(X)])


class RecordFirstEpochRows(Callback):
    """Keeps the (standardised) row-id column of every training batch of epoch 1."""

    def __init__(self):
        self.batches = []

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if training and len(net.history) == 1:
            self.batches.append(batch[0][:, -1].cpu().numpy().copy())


def test_device_accelerate_in_one_process_trains_like_the_cpu():
    pytest.importorskip("accelerate")
    X, Y = data()
    accelerated = hiss(device="accelerate").fit(X, Y)
    plain = hiss().fit(X, Y)

    assert type(accelerated.net_) is HiSSNet
    assert accelerated.n_iter_ == EPOCHS
    for a, b in zip(accelerated.predict_proba(X), plain.predict_proba(X)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    copy = pickle.loads(pickle.dumps(accelerated))
    np.testing.assert_array_equal(copy.predict(X), accelerated.predict(X))


def test_device_accelerate_without_accelerate_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn_hiss._accelerate", None)
    X, Y = data()
    with pytest.raises(ImportError, match=r"pip install 'sklearn-hiss\[accelerate\]'"):
        hiss(device="accelerate").fit(X, Y)


def train_in_process(rank, world, rendezvous, out_dir):
    """Body of one process of the two-process test (run as a script)."""
    torch.distributed.init_process_group(
        "gloo",
        init_method=f"file://{rendezvous}",
        rank=rank,
        world_size=world,
        timeout=timedelta(seconds=60),
    )
    try:
        X, Y = data()
        recorder = RecordFirstEpochRows()
        clf = hiss(device="accelerate", callbacks=[recorder]).fit(X, Y)
        stopped = hiss(device="accelerate", **STOPPING).fit(X, Y)
        crossed = hiss(device="accelerate", **CROSS_FITTED).fit(X, Y)
        row_id = np.concatenate(recorder.batches) * clf.input_scale_[-1]
        np.savez(
            Path(out_dir) / f"rank{rank}.npz",
            rows=np.rint(row_id + clf.input_mean_[-1]).astype(int),
            batch_sizes=[len(b) for b in recorder.batches],
            proba=positive_probabilities(clf, X),
            n_iter=clf.n_iter_,
            pickled=len(pickle.dumps(clf)) > 0,
            stopped_proba=positive_probabilities(stopped, X),
            stopped_n_iter=stopped.n_iter_,
            stopped_thresholds=stopped.thresholds_,
            crossed_proba=positive_probabilities(crossed, X),
            crossed_epochs=[len(net.history) for net in crossed.networks_],
            crossed_thresholds=crossed.thresholds_,
        )
    finally:
        torch.distributed.destroy_process_group()


def launch(world, tmp_path, timeout=150):
    env = dict(
        os.environ,
        WORLD_SIZE=str(world),
        LOCAL_WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1",
        GLOO_SOCKET_IFNAME="lo",  # gloo's own sockets on the loopback interface
        OMP_NUM_THREADS="1",
    )
    rendezvous = tmp_path / "rendezvous"
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, str(rank), str(world), rendezvous, tmp_path],
            env=dict(env, RANK=str(rank), LOCAL_RANK=str(rank)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(world)
    ]
    try:
        outputs = [p.communicate(timeout=timeout)[0] for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, output in zip(processes, outputs):
        assert p.returncode == 0, output[-3000:]
    return [np.load(tmp_path / f"rank{rank}.npz") for rank in range(world)]


@pytest.fixture(scope="module")
def launched(tmp_path_factory):
    pytest.importorskip("accelerate")
    return launch(2, tmp_path_factory.mktemp("launch"))


def test_two_processes_share_the_rows_and_train_one_model(launched):
    first, second = launched

    rows = [set(first["rows"]), set(second["rows"])]
    assert len(first["rows"]) == len(rows[0]) == N_ROWS // 2
    assert len(second["rows"]) == len(rows[1]) == N_ROWS // 2
    assert not rows[0] & rows[1]
    assert rows[0] | rows[1] == set(range(N_ROWS))
    assert set(first["batch_sizes"]) == {BATCH_SIZE // 2}
    assert first["n_iter"] == second["n_iter"] == EPOCHS
    assert first["pickled"] and second["pickled"]
    # Gradients were averaged across the processes: one model in both.
    np.testing.assert_array_equal(first["proba"], second["proba"])

    X, Y = data()
    single = positive_probabilities(hiss().fit(X, Y), X)
    np.testing.assert_allclose(first["proba"], single, atol=1e-5)


def test_two_processes_stop_early_at_the_same_epoch(launched):
    first, second = launched
    assert first["stopped_n_iter"] == second["stopped_n_iter"] < 100
    np.testing.assert_array_equal(
        first["stopped_thresholds"], second["stopped_thresholds"]
    )
    np.testing.assert_array_equal(first["stopped_proba"], second["stopped_proba"])

    # The training rows (90%) do not fill the last batch evenly, so a few rows
    # repeat: close to a one-process fit, not equal.
    X, Y = data()
    single = positive_probabilities(hiss(**STOPPING).fit(X, Y), X)
    assert np.abs(first["stopped_proba"] - single).mean() < 0.01


def test_two_processes_train_the_same_cross_fitted_networks(launched):
    first, second = launched
    assert len(first["crossed_epochs"]) == 2
    np.testing.assert_array_equal(first["crossed_epochs"], second["crossed_epochs"])
    assert max(first["crossed_epochs"]) < 100
    np.testing.assert_array_equal(
        first["crossed_thresholds"], second["crossed_thresholds"]
    )
    np.testing.assert_array_equal(first["crossed_proba"], second["crossed_proba"])

    X, Y = data()
    single = hiss(**CROSS_FITTED).fit(X, Y)
    assert (
        np.abs(first["crossed_proba"] - positive_probabilities(single, X)).mean() < 0.01
    )


if __name__ == "__main__":
    train_in_process(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4])
