"""Search and cross-validation on a Dask cluster through joblib's dask backend.

A LocalCluster of two worker processes on the loopback address runs a small grid
search; its results must equal the local run's, and its fits must have run on
both workers.
"""

import pickle
import sys

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.pipeline import make_pipeline

from sklearn_hiss import FactorReducer, HiSSClassifier, SOMPseudoLabeler
from sklearn_hiss._distributed import dask_worker_threads, threads_per_task
from sklearn_hiss.datasets import make_hierarchical_classification
from sklearn_hiss.metrics import per_task_scorers

distributed = pytest.importorskip("distributed")
cloudpickle = pytest.importorskip("cloudpickle")
joblib = pytest.importorskip("joblib")

# One network trained a fixed 4 epochs, so that the thread tests can count
# epochs; the cross-fitted defaults have a grid search of their own below.
SMALL = {
    "shared_units": (16,),
    "local_units": (8,),
    "task_units": (),
    "max_epochs": 4,
    "early_stopping": False,
    "n_networks": 1,
}
GRID = {"alpha": [0.0, 1.0], "learning_rate": [1e-3, 1e-2]}


@pytest.fixture(scope="module")
def data():
    return make_hierarchical_classification(
        n_samples=240, n_features=6, tasks=(2, 2), random_state=0
    )


@pytest.fixture(scope="module")
def client():
    # Workers unpickle this module's helper functions by value: they cannot
    # import a test module.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    try:
        with distributed.Client(cluster) as dask_client:
            yield dask_client
    finally:
        cluster.close(timeout=30)
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def hiss(**params):
    return HiSSClassifier(tasks={"a": 2, "b": 2}, random_state=0, **SMALL, **params)


def test_estimators_and_scorers_pickle_before_and_after_fit(data):
    X, Y = data
    pipe = make_pipeline(
        FactorReducer(n_factors=3),
        SOMPseudoLabeler(n_clusters=4, random_state=0),
        hiss(pseudo_labels="passthrough"),
    )
    scorers = per_task_scorers()
    assert (
        pickle.loads(pickle.dumps(pipe)).get_params().keys() == pipe.get_params().keys()
    )

    pipe.fit(X, Y)
    copy = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(copy.predict(X), pipe.predict(X))
    for name, scorer in pickle.loads(pickle.dumps(scorers)).items():
        assert scorer(copy, X, Y) == scorers[name](pipe, X, Y)


def test_grid_search_on_dask_workers_equals_the_local_one(client, data):
    X, Y = data
    local = GridSearchCV(hiss(pseudo_labels=None), GRID, cv=2).fit(X, Y)

    with (
        distributed.get_task_stream(client) as tasks,
        joblib.parallel_config(backend="dask"),
    ):
        remote = GridSearchCV(hiss(pseudo_labels=None), GRID, cv=2, n_jobs=-1)
        remote.fit(X, Y)

    fits = [t for t in tasks.data if "fit_and_score" in t["key"]]
    assert fits
    assert {t["worker"] for t in fits} == set(client.scheduler_info()["workers"])
    np.testing.assert_array_equal(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert remote.best_params_ == local.best_params_


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_grid_search_of_cross_fitted_networks_on_dask_equals_the_local_one(
    client, data
):
    X, Y = data
    # The defaults (early stopping on ROC AUC, out-of-fold F1 thresholds), with
    # two networks instead of five and a short patience to stay fast.
    model = HiSSClassifier(
        tasks={"a": 2, "b": 2},
        shared_units=(16,),
        local_units=(8,),
        max_epochs=8,
        patience=2,
        n_networks=2,
        random_state=0,
    )
    grid = {"alpha": [0.0, 0.2]}
    local = GridSearchCV(model, grid, cv=2).fit(X, Y)
    with joblib.parallel_config(backend="dask"):
        remote = GridSearchCV(model, grid, cv=2, n_jobs=-1).fit(X, Y)

    np.testing.assert_array_equal(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
    assert remote.best_params_ == local.best_params_

    # Models fitted on the workers come back whole: every network, the
    # thresholds tuned out of fold, the same probabilities.
    with joblib.parallel_config(backend="dask"):
        fitted = cross_validate(model, X, Y, cv=2, n_jobs=-1, return_estimator=True)
    here = cross_validate(model, X, Y, cv=2, return_estimator=True)
    for theirs, ours in zip(fitted["estimator"], here["estimator"]):
        assert len(theirs.networks_) == 2
        assert theirs.n_iter_ == ours.n_iter_
        np.testing.assert_array_equal(theirs.thresholds_, ours.thresholds_)
        for p, q in zip(theirs.predict_proba(X), ours.predict_proba(X)):
            np.testing.assert_array_equal(p, q)


def test_cross_validate_with_per_task_scorers_on_dask(client, data):
    X, Y = data
    scoring = per_task_scorers()
    local = cross_validate(hiss(), X, Y, cv=2, scoring=scoring)
    with joblib.parallel_config(backend="dask"):
        remote = cross_validate(hiss(), X, Y, cv=2, scoring=scoring, n_jobs=-1)

    for name in scoring:
        key = f"test_{name}"
        np.testing.assert_array_equal(remote[key], local[key])


def fit_and_count_threads(random_state):
    """On a worker: torch's threads during an unseeded or seeded fit, and after."""
    from skorch.callbacks import Callback

    class CountThreads(Callback):
        seen = []

        def on_epoch_begin(self, net, **kwargs):
            CountThreads.seen.append(torch.get_num_threads())

    torch.set_num_threads(3)  # what some other code left behind
    X, Y = make_hierarchical_classification(n_samples=80, tasks=(2,), random_state=0)
    HiSSClassifier(
        random_state=random_state,
        pseudo_labels=None,
        callbacks=[CountThreads()],
        **SMALL,
    ).fit(X, Y)
    return set(CountThreads.seen), torch.get_num_threads(), dask_worker_threads()


def test_fits_on_a_worker_take_torch_threads_from_its_allotment(client):
    unseeded = client.submit(fit_and_count_threads, None, pure=False).result()
    seeded = client.submit(fit_and_count_threads, 0, pure=False).result()

    # The allotment is the worker's OMP_NUM_THREADS: 1 from Dask's nanny, or what
    # the environment that started the cluster set (the Makefile sets 2).
    threads, restored, allotment = unseeded
    assert allotment >= 1
    assert (threads, restored) == ({allotment}, 3)
    assert seeded == ({1}, 3, allotment)


def test_threads_per_task_shares_the_cores_unless_omp_num_threads_is_set(
    monkeypatch,
):
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert threads_per_task(2) == 4
    monkeypatch.delenv("OMP_NUM_THREADS")
    cores = joblib.cpu_count()
    assert threads_per_task(1) == cores
    assert threads_per_task(cores * 2) == 1
    assert dask_worker_threads() is None  # not inside a worker


def test_unseeded_fits_outside_dask_keep_the_callers_torch_threads(data):
    from skorch.callbacks import Callback

    seen = []

    class CountThreads(Callback):
        def on_epoch_begin(self, net, **kwargs):
            seen.append(torch.get_num_threads())

    X, Y = data
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        hiss(pseudo_labels=None, callbacks=[CountThreads()]).set_params(
            random_state=None
        ).fit(X, Y)
        hiss(pseudo_labels=None, callbacks=[CountThreads()]).fit(X, Y)
    finally:
        torch.set_num_threads(before)
    assert seen == [2] * SMALL["max_epochs"] + [1] * SMALL["max_epochs"]
