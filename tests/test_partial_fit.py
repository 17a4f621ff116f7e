"""Training in chunks with partial_fit, and fitting from memory-mapped arrays."""

import tracemalloc

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from sklearn_hiss import HiSSClassifier, SOMPseudoLabeler
from sklearn_hiss import _classifier as classifier_module
from sklearn_hiss.datasets import make_hierarchical_classification

SMALL = {
    "shared_units": (32,),
    "local_units": (16,),
    "task_units": (),
    "batch_size": 64,
}
TASKS = {"a": 3, "b": 2}
# What fit needs to train like partial_fit: one network, a fixed number of
# epochs. partial_fit itself runs at the defaults (it validates nothing).
ONE_NETWORK = {"early_stopping": False, "n_networks": 1}


@pytest.fixture(scope="module")
def data():
    X, Y = make_hierarchical_classification(
        n_samples=1600, tasks=(3, 2), random_state=0
    )
    return X[:1200], Y[:1200], X[1200:], Y[1200:]


def chunks(X, Y, size):
    for start in range(0, len(X), size):
        yield X[start : start + size], Y[start : start + size]


def mean_auroc(clf, X, Y):
    probas = clf.predict_proba(X)
    return np.mean([roc_auc_score(Y[:, t], p[:, 1]) for t, p in enumerate(probas)])


def stream(clf, X, Y, epochs, size=300, **kwargs):
    for _ in range(epochs):
        for X_chunk, Y_chunk in chunks(X, Y, size):
            clf.partial_fit(X_chunk, Y_chunk, **kwargs)
    return clf


def test_partial_fit_over_chunks_approaches_fit(data):
    X, Y, X_test, Y_test = data
    params = dict(tasks=TASKS, random_state=0, **SMALL)
    full = HiSSClassifier(max_epochs=8, **ONE_NETWORK, **params).fit(X, Y)
    chunked = stream(HiSSClassifier(**params), X, Y, epochs=8)

    assert chunked.n_iter_ == 8 * 4
    assert len(chunked.history_) == chunked.n_iter_
    full_auroc, chunked_auroc = (
        mean_auroc(full, X_test, Y_test),
        mean_auroc(chunked, X_test, Y_test),
    )
    assert chunked_auroc > 0.75
    assert chunked_auroc > full_auroc - 0.03
    # The SOM was fitted on the first chunk only and assigns later ones.
    assert chunked.pseudo_labeler_.n_features_in_ == X.shape[1]
    assert chunked.n_pseudo_classes_ == chunked.pseudo_labeler_.n_clusters_


def test_first_call_fixes_standardisation_and_classes(data):
    X, Y, _, _ = data
    clf = HiSSClassifier(tasks=TASKS, random_state=0, **SMALL)
    clf.partial_fit(X[:300], Y[:300])
    mean = clf.input_mean_.copy()
    clf.partial_fit(X[300:600] * 3 + 5, Y[300:600])

    np.testing.assert_array_equal(clf.input_mean_, mean)
    np.testing.assert_allclose(mean, X[:300].mean(axis=0))
    assert [list(c) for c in clf.classes_] == [[0, 1]] * 5
    assert clf.predict(X[:7]).shape == (7, 5)


def test_classes_given_up_front_cover_labels_missing_from_first_chunk():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = np.array(["low", "mid", "high"])[np.digitize(X[:, 0], [-0.5, 0.5])]
    first = np.isin(y, ["low", "mid"])
    clf = HiSSClassifier(random_state=0, pseudo_labels=None, **SMALL)

    clf.partial_fit(X[first], y[first], classes=["low", "mid", "high"])
    clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=["high", "low", "mid"])  # the same, reordered

    assert list(clf.classes_) == ["high", "low", "mid"]
    assert clf.predict_proba(X[:5]).shape == (5, 3)
    assert set(clf.predict(X)) <= {"low", "mid", "high"}


def test_labels_unseen_in_the_first_chunk_need_classes():
    X = np.random.default_rng(1).normal(size=(60, 3))
    y = np.repeat(["a", "b", "c"], 20)
    clf = HiSSClassifier(pseudo_labels=None, random_state=0, **SMALL)
    clf.partial_fit(X[:40], y[:40])

    with pytest.raises(ValueError, match=r"labels \['c'\] that are not among"):
        clf.partial_fit(X[40:], y[40:])
    with pytest.raises(ValueError, match="first partial_fit call fixed"):
        clf.partial_fit(X, y, classes=["a", "b", "c"])


def test_a_single_class_first_chunk_needs_classes():
    X = np.random.default_rng(2).normal(size=(40, 3))
    clf = HiSSClassifier(pseudo_labels=None, random_state=0, **SMALL)

    with pytest.raises(ValueError, match="1 class.*give every class"):
        clf.partial_fit(X, np.repeat("a", 40))
    # 0/1 indicators are completed to both classes.
    clf.partial_fit(X, np.zeros(40, dtype=int))
    assert list(clf.classes_) == [0, 1]


def test_a_changed_feature_count_is_an_error(data):
    X, Y, _, _ = data
    clf = HiSSClassifier(tasks=TASKS, random_state=0, **SMALL)
    clf.partial_fit(X[:200], Y[:200])

    with pytest.raises(ValueError, match="X has 7 features, but HiSSClassifier is"):
        clf.partial_fit(X[200:400, :7], Y[200:400])


def test_y_columns_must_stay_the_same(data):
    X, Y, _, _ = data
    frame = pd.DataFrame(Y, columns=[f"s{t}" for t in range(5)])
    clf = HiSSClassifier(random_state=0, pseudo_labels=None, **SMALL)
    clf.partial_fit(X[:200], frame[:200])

    with pytest.raises(ValueError, match="same columns"):
        clf.partial_fit(X[200:400], frame[200:400].rename(columns={"s0": "x"}))
    with pytest.raises(ValueError, match="first partial_fit call had 5"):
        clf.partial_fit(X[200:400], frame.iloc[200:400, :4])


def test_a_chunk_may_leave_a_subtask_unlabeled(data):
    X, Y, _, _ = data
    clf = HiSSClassifier(tasks=TASKS, random_state=0, **SMALL)
    clf.partial_fit(X[:300], Y[:300])
    Y_chunk = Y[300:600].copy()
    Y_chunk[:, 1] = -1

    clf.partial_fit(X[300:600], Y_chunk)
    assert clf.n_iter_ == 2


def test_fit_after_partial_fit_starts_again(data):
    X, Y, _, _ = data
    params = dict(tasks=TASKS, random_state=0, max_epochs=3, pseudo_labels=None)
    params.update(SMALL, **ONE_NETWORK)
    streamed = stream(HiSSClassifier(**params), X, Y, epochs=1)

    refit = streamed.fit(X[:, :6], Y)
    fresh = HiSSClassifier(**params).fit(X[:, :6], Y)
    assert refit.n_iter_ == 3
    assert refit.n_features_in_ == 6
    for a, b in zip(refit.predict_proba(X[:50, :6]), fresh.predict_proba(X[:50, :6])):
        np.testing.assert_array_equal(a, b)


def test_partial_fit_after_fit_goes_on_from_it(data):
    X, Y, X_test, _ = data
    clf = HiSSClassifier(
        tasks=TASKS, random_state=0, max_epochs=2, **ONE_NETWORK, **SMALL
    )
    clf.set_params(pseudo_labels=None).fit(X, Y)
    before = clf.predict_proba(X_test)[0]

    clf.partial_fit(X[:300], Y[:300])
    assert clf.n_iter_ == 3
    assert not np.allclose(clf.predict_proba(X_test)[0], before)


def test_partial_fit_is_reproducible(data):
    X, Y, X_test, _ = data
    params = dict(tasks=TASKS, random_state=3, **SMALL)
    first = stream(HiSSClassifier(**params), X, Y, epochs=2, size=400)
    second = stream(HiSSClassifier(**params), X, Y, epochs=2, size=400)

    for a, b in zip(first.predict_proba(X_test), second.predict_proba(X_test)):
        np.testing.assert_array_equal(a, b)


def test_data_parallel_training_is_refused(data):
    X, Y, _, _ = data
    clf = HiSSClassifier(tasks=TASKS, device="accelerate")
    with pytest.raises(ValueError, match="device='accelerate'; use fit for data"):
        clf.partial_fit(X[:100], Y[:100])
    assert not hasattr(clf, "networks_")


@pytest.mark.parametrize(
    "setting",
    [
        {"early_stopping": True},
        {"decision_threshold": "f1"},
        {"n_networks": 3},
        {},  # the defaults: all three
    ],
    ids=["early_stopping", "f1", "n_networks", "defaults"],
)
def test_settings_that_need_validation_rows_change_nothing_in_partial_fit(
    data, setting
):
    X, Y, X_test, _ = data
    params = dict(tasks=TASKS, random_state=0, **SMALL)
    plain = dict(early_stopping=False, decision_threshold=0.5, n_networks=1)
    given = {**params, **setting}  # {} leaves the defaults
    streamed = stream(HiSSClassifier(**given), X, Y, epochs=2, size=400)
    reference = stream(HiSSClassifier(**params, **plain), X, Y, epochs=2, size=400)

    assert len(streamed.networks_) == 1  # whatever n_networks
    assert streamed.n_iter_ == 6  # one epoch per call, never stopped early
    assert "valid_loss" not in streamed.history_[-1]  # nothing validated
    np.testing.assert_array_equal(streamed.thresholds_, 0.5)
    np.testing.assert_array_equal(streamed.predict(X_test), reference.predict(X_test))
    for a, b in zip(streamed.predict_proba(X_test), reference.predict_proba(X_test)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_partial_fit_after_a_cross_fitted_fit_goes_on_with_every_network(data):
    X, Y, X_test, _ = data
    clf = HiSSClassifier(
        tasks=TASKS,
        n_networks=3,
        max_epochs=12,
        patience=2,
        pseudo_labels=None,
        random_state=0,
        **SMALL,
    ).fit(X, Y)
    epochs = [len(net.history) for net in clf.networks_]
    weights = [net.module_.output.weight.detach().clone() for net in clf.networks_]
    thresholds = clf.thresholds_.copy()
    assert not np.allclose(thresholds, 0.5)

    clf.partial_fit(X[:300], Y[:300])
    assert len(clf.networks_) == 3
    # One more epoch each, early stopping or not; the tuned thresholds stay.
    assert [len(net.history) for net in clf.networks_] == [e + 1 for e in epochs]
    assert clf.n_iter_ == max(epochs) + 1
    np.testing.assert_array_equal(clf.thresholds_, thresholds)
    for net, before in zip(clf.networks_, weights):
        assert not torch.equal(net.module_.output.weight, before)
    assert clf.predict(X_test).shape == (len(X_test), 5)


def test_passthrough_labels_from_a_labeler_fitted_beforehand(data):
    X, Y, X_test, _ = data
    labeler = SOMPseudoLabeler(n_clusters=4, random_state=0).fit(X[:300])
    clf = HiSSClassifier(
        tasks=TASKS, pseudo_labels="passthrough", random_state=0, **SMALL
    )
    for X_chunk, Y_chunk in chunks(X, Y, 300):
        clf.partial_fit(labeler.transform(X_chunk), Y_chunk)

    assert clf.n_pseudo_classes_ == 4
    assert clf.pseudo_labeler_ is None
    assert clf.predict(labeler.transform(X_test)).shape == (len(X_test), 5)
    bad = labeler.transform(X[:50])
    bad[:, -1] = 9
    with pytest.raises(ValueError, match=r"pseudo-labels \[9\]"):
        clf.partial_fit(bad, Y[:50])


def test_a_labeler_without_predict_is_refused(data):
    from sklearn.cluster import AgglomerativeClustering

    X, Y, _, _ = data
    clf = HiSSClassifier(tasks=TASKS, pseudo_labels=AgglomerativeClustering(3))
    with pytest.raises(ValueError, match="AgglomerativeClustering lacks"):
        clf.partial_fit(X[:100], Y[:100])


# ------------------------------------------------------- memory-mapped input


@pytest.fixture(scope="module")
def memmapped(tmp_path_factory, data):
    X, Y, _, _ = data
    path = tmp_path_factory.mktemp("mmap") / "X.npy"
    np.save(path, X.astype(np.float32))
    return np.load(path, mmap_mode="r"), Y


def test_fit_on_a_memory_mapped_array_equals_fit_in_memory(memmapped):
    X_map, Y = memmapped
    params = dict(tasks=TASKS, random_state=0, max_epochs=2, **ONE_NETWORK, **SMALL)
    from_map = HiSSClassifier(**params).fit(X_map, Y)
    in_memory = HiSSClassifier(**params).fit(np.array(X_map), Y)

    for a, b in zip(from_map.predict_proba(X_map), in_memory.predict_proba(X_map)):
        np.testing.assert_array_equal(a, b)
    assert not X_map.flags.writeable  # read-only input was never written


def test_partial_fit_streams_chunks_of_a_memory_mapped_array(memmapped):
    X_map, Y = memmapped
    clf = HiSSClassifier(tasks=TASKS, random_state=0, **SMALL)
    stream(clf, X_map, Y, epochs=1)
    assert clf.n_iter_ == 4


def test_standardisation_in_blocks_equals_the_whole_array(monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[1e3, -2.0, 0.0], scale=[10.0, 1e-3, 0.0], size=(1000, 3))
    mean, scale = classifier_module._standardisation(X)
    whole = classifier_module._standardised(X, mean, scale, "fit")

    monkeypatch.setattr(classifier_module, "_BLOCK_VALUES", 30)  # 10 rows a block
    block_mean, block_scale = classifier_module._standardisation(X)
    np.testing.assert_allclose(block_mean, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(block_scale, [*X.std(axis=0)[:2], 1.0], rtol=1e-10)
    blocks = classifier_module._standardised(X, block_mean, block_scale, "fit")
    np.testing.assert_allclose(blocks, whole, rtol=1e-6, atol=1e-6)


def test_standardising_a_large_array_copies_it_once_as_float32(tmp_path):
    path = tmp_path / "big.npy"
    np.save(path, np.random.default_rng(0).normal(size=(400_000, 8)))
    X = np.load(path, mmap_mode="r")  # 25.6 MB of float64 on disk

    tracemalloc.start()
    mean, scale = classifier_module._standardisation(X)
    stats_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    Z = classifier_module._standardised(X, mean, scale, "fit")
    standardised_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    block = classifier_module._BLOCK_VALUES * 8
    assert stats_peak < 3 * block  # a few blocks, not a copy of X
    assert standardised_peak < Z.nbytes + 3 * block
    assert Z.dtype == np.float32


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("start", ["partial_fit", "cross-fitted fit"])
def test_partial_fit_goes_on_alike_after_save_and_load(data, tmp_path, start):
    from sklearn_hiss import load_model, save_model

    X, Y, X_test, _ = data
    clf = HiSSClassifier(tasks=TASKS, random_state=0, pseudo_labels=None, **SMALL)
    if start == "partial_fit":
        clf.partial_fit(X[:300], Y[:300])
    else:
        clf.set_params(n_networks=2, max_epochs=3).fit(X[:300], Y[:300])
    loaded = load_model(save_model(clf, tmp_path / "model.hiss"))

    for model in (clf, loaded):
        model.partial_fit(X[300:600], Y[300:600])
    assert len(loaded.networks_) == len(clf.networks_)
    np.testing.assert_array_equal(loaded.thresholds_, clf.thresholds_)
    np.testing.assert_array_equal(loaded.predict(X_test), clf.predict(X_test))
    for a, b in zip(loaded.predict_proba(X_test), clf.predict_proba(X_test)):
        np.testing.assert_array_equal(a, b)
