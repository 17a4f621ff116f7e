"""Model files: pickle and joblib, a CUDA model on a CPU machine, safe files."""

import io
import json
import os
import pickle
import subprocess
import sys
import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning, InconsistentVersionWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler
from skorch.callbacks import Callback
from skorch.exceptions import DeviceWarning

from sklearn_hiss import FactorReducer, HiSSClassifier, SOMPseudoLabeler
from sklearn_hiss._persistence import load_model, save_model
from sklearn_hiss.datasets import make_hierarchical_classification

# One network trained a fixed number of epochs with the threshold 0.5: what
# these models are made of matters less here than that they round-trip. The
# estimator's defaults (five cross-fitted networks, early stopping, tuned
# thresholds) are the "default" model below.
TINY = dict(
    shared_units=(16,),
    local_units=(8,),
    task_units=(8,),
    max_epochs=3,
    learning_rate=0.01,
    early_stopping=False,
    decision_threshold=0.5,
    n_networks=1,
    random_state=0,
)
# Every other setting at its default; max_epochs stays below patience, so each
# network runs its 3 epochs and warns that early stopping never ended it.
DEFAULT = dict(shared_units=(16,), local_units=(8,), max_epochs=3, random_state=0)
FAST_SOM = SOMPseudoLabeler(n_clusters=4, n_iterations=200)


@pytest.fixture(scope="module")
def data():
    X, Y = make_hierarchical_classification(
        n_samples=150, n_features=6, tasks=(2, 2), random_state=0
    )
    return X, Y


def bare(X, Y):
    return HiSSClassifier(**TINY).fit(X, Y)  # the default SOM inside fit


def hiss_pipeline(X, Y):
    pipe = Pipeline(
        [
            ("factors", FactorReducer(groups={"a": [0, 1, 2], "b": [3, 4, 5]})),
            ("clusters", SOMPseudoLabeler(n_clusters=4, random_state=0)),
            (
                "hiss",
                HiSSClassifier(
                    pseudo_labels="passthrough", **{**TINY, "early_stopping": True}
                ),
            ),
        ]
    )
    with pytest.warns(ConvergenceWarning):
        return pipe.fit(X, Y)


def frame_pipeline(X, Y):
    frame = pd.DataFrame(X, columns=list("abcdef"))
    frame["kind"] = ["x", "y", "z"] * 50
    columns = ColumnTransformer(
        [
            (
                "numbers",
                Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]),
                list("abcdef"),
            ),
            ("kind", OneHotEncoder(sparse_output=False), ["kind"]),
        ]
    )
    hiss = HiSSClassifier(
        pseudo_labels=KMeans(n_clusters=3, n_init=2),
        **{**TINY, "decision_threshold": "f1"},
    )
    pipe = Pipeline([("columns", columns), ("range", MinMaxScaler()), ("hiss", hiss)])
    return pipe.fit(frame, pd.DataFrame(Y, columns=list("pqrs"))), frame


def string_target(X, Y):
    y = np.where(Y[:, 0] == 1, "yes", "no")
    return HiSSClassifier(pseudo_labels=FAST_SOM, **TINY).fit(X, y)


def mixed_labels(X, Y):
    frame = pd.DataFrame(
        {
            "flag": Y[:, 0].astype(bool),
            "word": np.where(Y[:, 1] == 1, "high", "low"),
            "level": Y[:, 2] + Y[:, 3],
        }
    )
    frame.iloc[::5, 1] = None
    return HiSSClassifier(tasks=["x", "x", "y"], pseudo_labels=None, **TINY).fit(
        X, frame
    )


def default(X, Y):
    with pytest.warns(ConvergenceWarning):
        return HiSSClassifier(**DEFAULT).fit(X, Y)


@pytest.fixture(scope="module")
def models(data):
    X, Y = data
    fitted, frame = frame_pipeline(X, Y)
    return {
        "bare": (bare(X, Y), X),
        "default": (default(X, Y), X),
        "pipeline": (hiss_pipeline(X, Y), X),
        "frame": (fitted, frame),
        "strings": (string_target(X, Y), X),
        "mixed": (mixed_labels(X, Y), X),
    }


def assert_same_predictions(first, second, X):
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    p, q = first.predict_proba(X), second.predict_proba(X)
    for a, b in zip(
        p if isinstance(p, list) else [p], q if isinstance(q, list) else [q]
    ):
        np.testing.assert_array_equal(a, b)


# -------------------------------------------------------------- pickle and joblib


@pytest.mark.parametrize("name", ["bare", "default", "pipeline", "frame"])
def test_pickle_and_joblib_round_trips(models, name, tmp_path):
    model, X = models[name]
    assert_same_predictions(model, pickle.loads(pickle.dumps(model)), X)
    joblib.dump(model, tmp_path / "model.joblib")
    assert_same_predictions(model, joblib.load(tmp_path / "model.joblib"), X)


def as_saved_before_cross_fitting(model):
    """A copy of a one-network model in the layout of sklearn-hiss before
    ``n_networks``: the net as ``net_``, no ``n_networks`` or ``scoring``."""
    old = pickle.loads(pickle.dumps(model))
    state = old.__dict__
    state["net_"] = state.pop("networks_")[0]
    del state["n_networks"], state["scoring"]
    return old


def test_a_one_network_model_saved_before_cross_fitting_still_loads(models, tmp_path):
    model, X = models["bare"]
    old = as_saved_before_cross_fitting(model)
    for loaded in (
        pickle.loads(pickle.dumps(old)),
        load_model(save_model(old, tmp_path / "old.hiss")),
    ):
        assert_same_predictions(model, loaded, X)
        assert len(loaded.networks_) == 1 and loaded.n_networks == 1
        assert clone(loaded).get_params()["scoring"] == "loss"


def cuda_tagged_pickle(model, monkeypatch):
    """Pickle ``model`` as if trained on a GPU: every tensor tagged ``cuda:0``."""
    on_gpu = pickle.loads(pickle.dumps(model))
    on_gpu.device = "cuda"
    for net in on_gpu.networks_:
        net.device = "cuda"
    with monkeypatch.context() as patch:
        registry = [(-1, lambda storage: "cuda:0", lambda storage, location: None)]
        registry += torch.serialization._package_registry
        patch.setattr(torch.serialization, "_package_registry", registry)
        return pickle.dumps(on_gpu)


def test_a_model_pickled_on_cuda_loads_on_a_cpu_only_machine(models, data, monkeypatch):
    model, X = models["bare"]
    payload = cuda_tagged_pickle(model, monkeypatch)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert b"cuda:0" in payload
    with pytest.warns(DeviceWarning, match="(?i)cuda"):
        loaded = pickle.loads(payload)
    assert loaded.device == "cpu"
    assert torch.device(loaded.net_.device).type == "cpu"
    assert all(p.device.type == "cpu" for p in loaded.net_.module_.parameters())
    assert_same_predictions(model, loaded, X)
    refit = loaded.set_params(max_epochs=1).fit(*data)  # device follows: cpu
    assert refit.net_.device == "cpu"


def test_every_network_of_a_cuda_pickle_loads_on_a_cpu_only_machine(data, monkeypatch):
    X, Y = data
    # Without validation needs every network trains on all rows, each from its
    # own seed.
    model = HiSSClassifier(**{**TINY, "n_networks": 3})
    payload = cuda_tagged_pickle(model.fit(X, Y), monkeypatch)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning, match="(?i)cuda"):
        loaded = pickle.loads(payload)
    assert loaded.device == "cpu" and len(loaded.networks_) == 3
    for net in loaded.networks_:
        assert torch.device(net.device).type == "cpu"
        assert all(p.device.type == "cpu" for p in net.module_.parameters())
    assert_same_predictions(model, loaded, X)
    np.testing.assert_array_equal(loaded.thresholds_, model.thresholds_)


def test_the_cuda_tags_are_real(models, monkeypatch):
    """Without skorch's map_location, the tagged tensors would not load here."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    tensor = models["bare"][0].net_.module_.output.weight
    with monkeypatch.context() as patch:
        registry = [(-1, lambda storage: "cuda:0", lambda storage, location: None)]
        registry += torch.serialization._package_registry
        patch.setattr(torch.serialization, "_package_registry", registry)
        buffer = io.BytesIO()
        torch.save(tensor, buffer)
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.load(io.BytesIO(buffer.getvalue()))


# --------------------------------------------------------------- safe model files


@pytest.mark.parametrize(
    "name", ["bare", "default", "pipeline", "frame", "strings", "mixed"]
)
def test_safe_files_predict_exactly_like_the_original(models, name, tmp_path):
    model, X = models[name]
    path = save_model(model, tmp_path / "model.hiss")
    loaded = load_model(path)
    assert type(loaded) is type(model)
    assert repr(loaded.get_params()) == repr(model.get_params())
    assert_same_predictions(model, loaded, X)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["arrays.safetensors", "model.json"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_loaded_model_is_complete(models, data, tmp_path):
    X, Y = data
    model = models["pipeline"][0]
    loaded = load_model(save_model(model, tmp_path / "model.hiss"))
    hiss, original = loaded[-1], model[-1]
    assert hiss.history_ is hiss.net_.history
    assert hiss.history_[:, "train_loss"] == original.history_[:, "train_loss"]
    assert hiss.hierarchy_ == original.hierarchy_
    np.testing.assert_array_equal(
        loaded[1].som_.quantization_error(loaded[0].transform(X)),
        model[1].som_.quantization_error(model[0].transform(X)),
    )
    optimizer = hiss.net_.optimizer_.state_dict()["state"]
    assert optimizer[0]["exp_avg"].abs().sum() > 0  # Adam's moments came along
    refit = clone(loaded).fit(X, Y)
    assert_same_predictions(refit, clone(model).fit(X, Y), X)


def test_a_default_model_keeps_every_network_and_its_thresholds(models, tmp_path):
    model, X = models["default"]
    assert len(model.networks_) == 5
    assert not np.allclose(model.thresholds_, 0.5)  # tuned out of fold
    from_file = load_model(save_model(model, tmp_path / "model.hiss"))
    for loaded in (from_file, pickle.loads(pickle.dumps(model))):
        assert len(loaded.networks_) == len(model.networks_)
        assert loaded.net_ is loaded.networks_[0]
        assert loaded.history_ is loaded.networks_[0].history
        assert loaded.n_iter_ == model.n_iter_
        np.testing.assert_array_equal(loaded.thresholds_, model.thresholds_)
        assert_same_predictions(model, loaded, X)
        for ours, theirs in zip(loaded.networks_, model.networks_):
            for key, value in theirs.module_.state_dict().items():
                assert torch.equal(ours.module_.state_dict()[key], value), key
            assert (
                ours.history[:, "valid_roc_auc"] == theirs.history[:, "valid_roc_auc"]
            )
    # The networks differ (each held out its own fold), so the mean is no copy.
    first, second = (net.module_.output.weight for net in model.networks_[:2])
    assert not torch.equal(first, second)


def default_fitted_on(n_rows):
    """A default model (no SOM: it keeps its rows' labels_ by design) and its X."""
    X, Y = make_hierarchical_classification(
        n_samples=n_rows, n_features=6, tasks=(2, 2), random_state=0
    )
    with pytest.warns(ConvergenceWarning):
        return HiSSClassifier(pseudo_labels=None, **DEFAULT).fit(X, Y), X


@pytest.fixture(scope="module")
def small_and_large():
    """Default models fitted on 150 and on 3000 rows: the same networks."""
    return default_fitted_on(150), default_fitted_on(3000)


def test_a_model_file_holds_no_training_rows(small_and_large, tmp_path):
    (small, _), (large, X_large) = small_and_large
    sizes = [
        os.path.getsize(save_model(model, tmp_path / f"{name}.hiss"))
        for name, model in [("small", small), ("large", large)]
    ]
    assert sizes[1] - sizes[0] < 0.05 * X_large.nbytes


def test_a_pickle_holds_no_training_rows(small_and_large):
    (small, _), (large, X_large) = small_and_large
    growth = len(pickle.dumps(large)) - len(pickle.dumps(small))
    # The histories record every batch (a few bytes per row); a copy of the
    # rows, as the networks' validation folds once were, is half of X or more.
    assert growth < 0.25 * X_large.nbytes


def test_loading_leaves_the_global_torch_random_state_alone(models, tmp_path):
    path = save_model(models["bare"][0], tmp_path / "model.hiss")
    before = torch.get_rng_state()
    load_model(path)
    assert torch.equal(before, torch.get_rng_state())


def test_an_unfitted_estimator_round_trips(tmp_path):
    model = HiSSClassifier(tasks={"a": ["p", "q"]}, shared_units=(32,), alpha=0.5)
    loaded = load_model(save_model(model, tmp_path / "model.hiss"))
    assert repr(loaded.get_params()) == repr(model.get_params())
    assert not hasattr(loaded, "net_")


def rewrite(path, change_json=None, arrays=None, json_text=None):
    """Rewrite a model file's members, as an attacker (or a bad disk) would."""
    with zipfile.ZipFile(path) as archive:
        document = json.loads(archive.read("model.json"))
        tensors = archive.read("arrays.safetensors")
    if change_json is not None:
        change_json(document)
    text = json_text if json_text is not None else json.dumps(document)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model.json", text)
        archive.writestr("arrays.safetensors", tensors if arrays is None else arrays)
    return path


def state_entry(node, key):
    """The value node of attribute ``key`` in an object node's state."""
    for name, value in node["state"]["__dict__"]:
        if name == key:
            return value
    raise KeyError(key)


@pytest.mark.parametrize("name", ["bare", "default"])
def test_a_safe_file_of_a_cuda_model_loads_on_a_cpu_only_machine(
    models, name, tmp_path, monkeypatch
):
    model, X = models[name]

    def on_cuda(document):
        root = document["root"]
        for pair in root["state"]["__dict__"]:
            if pair[0] == "device":
                pair[1] = "cuda"
        for net in state_entry(root, "networks_"):
            for pair in state_entry(net, "settings")["__dict__"]:
                if pair[0] == "device":
                    pair[1] = "cuda"

    path = rewrite(save_model(model, tmp_path / "model.hiss"), on_cuda)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning, match="no CUDA devices"):
        loaded = load_model(path)
    assert loaded.device == "cpu"
    assert [net.device for net in loaded.networks_] == ["cpu"] * len(model.networks_)
    assert_same_predictions(model, loaded, X)


class CountEpochs(Callback):
    pass


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: HiSSClassifier(callbacks=[CountEpochs()]),
            r"HiSSClassifier.callbacks\[0\].*set callbacks=None before saving",
        ),
        (
            lambda: Pipeline([("model", LogisticRegression())]),
            r"Pipeline.steps\[0\]\[1\] \(a sklearn.linear_model.*Regression\)",
        ),
        (
            lambda: HiSSClassifier(pseudo_labels=lambda X: X[:, 0] > 0),
            r"HiSSClassifier.pseudo_labels \(a builtins.function\)",
        ),
    ],
)
def test_unstorable_parts_are_refused_and_leave_no_file(make, message, tmp_path):
    path = tmp_path / "model.hiss"
    path.write_bytes(b"an older model")
    with pytest.raises(TypeError, match=message):
        save_model(make(), path)
    assert path.read_bytes() == b"an older model"
    assert os.listdir(tmp_path) == ["model.hiss"]


class RunsCode:
    """A pickle payload: unpickling it creates ``marker`` (standing for worse)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_the_payload_would_run_if_unpickled(tmp_path):
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(RunsCode(marker))).close()
    assert marker.exists()


def test_a_pickle_is_refused_and_nothing_runs(models, tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "model.hiss"
    path.write_bytes(pickle.dumps(RunsCode(marker)))
    with pytest.raises(ValueError, match="not a zip archive .*never unpickles"):
        load_model(path)
    model_file = save_model(models["bare"][0], tmp_path / "good.hiss")
    payload = pickle.dumps(RunsCode(marker))
    with pytest.raises(ValueError, match="model.json is not valid JSON"):
        load_model(rewrite(model_file, json_text=payload))
    model_file = save_model(models["bare"][0], tmp_path / "good.hiss")
    with pytest.raises(ValueError, match="arrays.safetensors is not a safetensors"):
        load_model(rewrite(model_file, arrays=payload))
    assert not marker.exists()


def name_everywhere(document, name):
    document["root"]["__object__"] = name


def name_in_the_hierarchy(document, name):
    state_entry(document["root"], "hierarchy_")["__object__"] = name


def bad_method(document, name):
    labeler = state_entry(document["root"], "pseudo_labeler_")
    som = state_entry(labeler, "som_")
    for pair in som["state"]["__dict__"]:
        if pair[0] == "neighborhood":
            pair[1] = {"__method__": "__init__"}


def dunder_attribute(document, name):
    document["root"]["state"]["__dict__"].append(["__class__", "x"])


@pytest.mark.parametrize(
    "tamper, message",
    [
        (name_everywhere, r"the class 'os.system', which load_model never creates"),
        (name_in_the_hierarchy, r"hierarchy_.*'os.system', which load_model never"),
        (bad_method, r"method name '__init__' that is not allowed"),
        (dunder_attribute, "malformed attributes for sklearn_hiss.HiSSClassifier"),
    ],
)
def test_files_naming_code_are_refused(models, tmp_path, tamper, message):
    path = save_model(models["bare"][0], tmp_path / "model.hiss")
    rewrite(path, lambda document: tamper(document, "os.system"))
    with pytest.raises(ValueError, match=message):
        load_model(path)


@pytest.mark.parametrize(
    "node, message",
    [
        ({"__object__": "builtins.eval", "id": 0, "state": None}, "builtins.eval"),
        ({"__reduce__": ["os.system", ["touch x"]]}, "an unknown node"),
        ({"__values__": ["x"], "dtype": "V8", "shape": [1]}, "cannot hold"),
        ({"__type__": "object"}, "a model file cannot hold"),
        ({"__ref__": 10**6}, "unknown object 1000000"),
        ({"__array__": "999"}, "missing array '999'"),
    ],
)
def test_malformed_nodes_are_refused(models, tmp_path, node, message):
    path = save_model(models["bare"][0], tmp_path / "model.hiss")

    def plant(document):
        document["root"]["state"]["__dict__"].append(["planted", node])

    with pytest.raises(ValueError, match=message):
        load_model(rewrite(path, plant))


def test_newer_formats_and_other_scikit_learn_versions(models, tmp_path):
    path = save_model(models["bare"][0], tmp_path / "model.hiss")

    def newer(document):
        document["format_version"] = 99

    with pytest.raises(ValueError, match="format version 99, newer"):
        load_model(rewrite(path, newer))
    path = save_model(models["bare"][0], tmp_path / "model.hiss")

    def older_sklearn(document):
        document["versions"]["scikit-learn"] = "0.1"

    with pytest.warns(InconsistentVersionWarning, match="0.1"):
        load_model(rewrite(path, older_sklearn))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("settings", [TINY, DEFAULT], ids=["one network", "default"])
def test_a_model_trained_on_a_real_gpu_loads_in_a_cpu_only_process(
    data, tmp_path, settings
):
    X, Y = data
    model = HiSSClassifier(device="cuda", pseudo_labels=None, **settings).fit(X, Y)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "expected.npy", model.predict_proba(X)[0])
    joblib.dump(model, tmp_path / "model.joblib")
    save_model(model, tmp_path / "model.hiss")
    script = (
        "import sys, joblib, numpy as np, torch\n"
        "from sklearn_hiss._persistence import load_model\n"
        "assert not torch.cuda.is_available()\n"
        "folder = sys.argv[1]\n"
        "X = np.load(folder + '/X.npy')\n"
        "expected = np.load(folder + '/expected.npy')\n"
        "for model in (joblib.load(folder + '/model.joblib'),\n"
        "              load_model(folder + '/model.hiss')):\n"
        "    assert model.device == 'cpu', model.device\n"
        "    np.testing.assert_allclose(model.predict_proba(X)[0], expected,\n"
        "                               rtol=1e-5)\n"
    )
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
