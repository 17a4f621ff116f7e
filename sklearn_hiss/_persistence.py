"""Model files that load without running code from the file.

A model file is a zip archive of two members: ``model.json``, a tree of plain
data (numbers, strings, lists, tagged nodes) that names the objects to
re-create, and ``arrays.safetensors``, every numeric array and torch tensor.
Loading parses both with data-only parsers (JSON and safetensors, never pickle
or ``torch.load``) and re-creates only the classes of a fixed list, by setting
their attributes: no constructor, method or function named by the file runs.
"""

import importlib
import json
import os
import sys
import tempfile
import warnings
import zipfile

import numpy as np

__all__ = ["load_model", "save_model"]

_FORMAT = "sklearn-hiss-model"
_FORMAT_VERSION = 1
_JSON_MEMBER = "model.json"
_ARRAYS_MEMBER = "arrays.safetensors"
_NUMERIC_KINDS = "biuf"
_TEXT_KINDS = "USO"

# The only classes a model file may re-create: name in the file -> (module,
# attribute). Modules are imported from this table, never from the file.
_ALLOWED_CLASSES = {
    "sklearn_hiss.HiSSClassifier": ("sklearn_hiss._classifier", "HiSSClassifier"),
    "sklearn_hiss.FactorReducer": ("sklearn_hiss._factor", "FactorReducer"),
    "sklearn_hiss.SOMPseudoLabeler": ("sklearn_hiss._som", "SOMPseudoLabeler"),
    "sklearn_hiss.TaskHierarchy": ("sklearn_hiss._hierarchy", "TaskHierarchy"),
    "sklearn_hiss.HiSSNet": ("sklearn_hiss._skorch", "HiSSNet"),
    "skorch.History": ("skorch.history", "History"),
    "minisom.MiniSom": ("minisom", "MiniSom"),
    "sklearn.pipeline.Pipeline": ("sklearn.pipeline", "Pipeline"),
    "sklearn.compose.ColumnTransformer": ("sklearn.compose", "ColumnTransformer"),
    "sklearn.preprocessing.StandardScaler": ("sklearn.preprocessing", "StandardScaler"),
    "sklearn.preprocessing.MinMaxScaler": ("sklearn.preprocessing", "MinMaxScaler"),
    "sklearn.preprocessing.MaxAbsScaler": ("sklearn.preprocessing", "MaxAbsScaler"),
    "sklearn.preprocessing.RobustScaler": ("sklearn.preprocessing", "RobustScaler"),
    "sklearn.preprocessing.OneHotEncoder": ("sklearn.preprocessing", "OneHotEncoder"),
    "sklearn.preprocessing.FunctionTransformer": (
        "sklearn.preprocessing",
        "FunctionTransformer",
    ),
    "sklearn.impute.SimpleImputer": ("sklearn.impute", "SimpleImputer"),
    "sklearn.cluster.KMeans": ("sklearn.cluster", "KMeans"),
}

_BUILTIN_TYPES = {"bool": bool, "int": int, "float": float, "str": str}

# A FunctionTransformer is data only without functions: the identity that
# ColumnTransformer(remainder="passthrough") fits. Attribute -> allowed values.
_CODE_FREE_FUNCTION_TRANSFORMER = {
    "func": (None,),
    "inverse_func": (None,),
    "feature_names_out": (None, "one-to-one"),
}

# Bound methods a MiniSom holds as attributes (neighbourhood, distance and decay
# functions); a file may name only these.
_MINISOM_METHODS = frozenset(
    {
        "_gaussian",
        "_mexican_hat",
        "_bubble",
        "_triangle",
        "_euclidean_distance",
        "_cosine_distance",
        "_manhattan_distance",
        "_chebyshev_distance",
        "_inverse_decay_to_zero",
        "_linear_decay_to_zero",
        "_asymptotic_decay",
    }
)

# Constructor settings of a HiSSNet that a file may give.
_NET_SETTINGS = frozenset(
    {
        "lr",
        "max_epochs",
        "batch_size",
        "verbose",
        "device",
        "iterator_train__shuffle",
        "iterator_train__seed",
        "iterator_valid__batch_size",
    }
)
_NET_PREFIXES = ("module__", "criterion__")


def save_model(estimator, path):
    """Save a fitted estimator or pipeline to a file that loads without running code.

    The file is a zip archive holding the network weights and every numeric
    array in safetensors format and everything else (parameters, classes,
    hierarchy, training history) as JSON. :func:`load_model` reads it back
    without unpickling or evaluating anything, so a model file from an
    untrusted source cannot run code on your machine, unlike pickle and joblib
    files. The file is written to a temporary name first and then renamed, so
    an existing file is never left half-written.

    Parameters
    ----------
    estimator : estimator
        A :class:`HiSSClassifier`, :class:`FactorReducer` or
        :class:`SOMPseudoLabeler`, fitted or not, or a scikit-learn
        ``Pipeline`` or ``ColumnTransformer`` of these and of
        ``StandardScaler``, ``MinMaxScaler``, ``MaxAbsScaler``,
        ``RobustScaler``, ``OneHotEncoder``, ``SimpleImputer`` and ``KMeans``
        (the only classes a model file may hold), and ``FunctionTransformer``
        without functions (``func`` and ``inverse_func`` None), as
        ``ColumnTransformer(remainder="passthrough")`` holds one.
    path : str or path-like
        Where to write the file; by convention it ends in ``.hiss``.

    Returns
    -------
    path : str
        The path written.

    Raises
    ------
    TypeError
        When the estimator holds an object that a safe file cannot store, such
        as a skorch callback in ``callbacks`` or an estimator of another
        class; the message names where it sits.

    See Also
    --------
    load_model : Read a file written by this function.

    Notes
    -----
    Custom skorch callbacks are code, so they are not stored: set
    ``callbacks=None`` before saving. Every network is re-created from its
    weights; its optimizer state and training history are kept, the skorch
    callbacks of the finished training are not. The file records the versions
    of scikit-learn, sklearn-hiss and torch that wrote it; loading with another
    scikit-learn version warns, as unpickling does.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn_hiss import HiSSClassifier
    >>> from sklearn_hiss import load_model, save_model
    >>> from sklearn_hiss.datasets import make_hierarchical_classification
    >>> X, Y = make_hierarchical_classification(n_samples=200, tasks=(2, 2),
    ...                                         random_state=0)
    >>> clf = HiSSClassifier(tasks={"a": 2, "b": 2}, max_epochs=3,
    ...                      early_stopping=False, pseudo_labels=None,
    ...                      random_state=0).fit(X, Y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.hiss")
    >>> _ = save_model(clf, path)
    >>> loaded = load_model(path)
    >>> len(loaded.networks_)
    5
    >>> bool((loaded.predict(X) == clf.predict(X)).all())
    True
    """
    safetensors_numpy = _import_safetensors()
    writer = _Writer()
    document = {
        "format": _FORMAT,
        "format_version": _FORMAT_VERSION,
        "versions": _library_versions(),
        "root": writer.encode(estimator, type(estimator).__name__),
    }
    text = json.dumps(document, allow_nan=True).encode("utf-8")
    arrays = safetensors_numpy.save(writer.arrays)
    return _write_atomically(os.fspath(path), text, arrays)


def load_model(path):
    """Load an estimator saved by :func:`save_model`, running no code from the file.

    The file is parsed as JSON and safetensors only. Objects are re-created
    only for a fixed list of classes (those of sklearn-hiss and the few
    scikit-learn classes :func:`save_model` accepts) by setting their
    attributes; a file that names anything else, or that is a pickle, is
    refused with a ValueError before any object is built. A network trained on
    a GPU loads on a machine without one: it is mapped to the CPU with a
    skorch ``DeviceWarning``, and the estimator's ``device`` becomes ``"cpu"``.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save_model`.

    Returns
    -------
    estimator : estimator
        The estimator or pipeline as saved; it predicts exactly as the saved
        one did.

    Raises
    ------
    ValueError
        When the file is not a model file written by :func:`save_model`
        (for example a pickle), is damaged, was written by a newer format
        version, or names a class outside the allowed list.

    See Also
    --------
    save_model : Write such a file.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_hiss import FactorReducer, SOMPseudoLabeler
    >>> from sklearn_hiss import load_model, save_model
    >>> from sklearn_hiss.datasets import make_hierarchical_classification
    >>> X, _ = make_hierarchical_classification(n_samples=200, random_state=0)
    >>> pipe = make_pipeline(FactorReducer(n_factors=3),
    ...                      SOMPseudoLabeler(n_clusters=4, random_state=0)).fit(X)
    >>> path = os.path.join(tempfile.mkdtemp(), "pipe.hiss")
    >>> loaded = load_model(save_model(pipe, path))
    >>> bool((loaded.transform(X) == pipe.transform(X)).all())
    True
    """
    path = os.fspath(path)
    text, arrays = _read_members(path)
    document = _parse_document(text, path)
    _warn_about_versions(document.get("versions"))
    reader = _Reader(_parse_arrays(arrays, path), path)
    return reader.decode(document["root"], "root")


# ------------------------------------------------------------------------ writing


class _Method:
    """A MiniSom attribute that is one of its own bound methods, by name."""

    def __init__(self, name):
        self.name = name


class _Writer:
    """Turn an object tree into JSON-ready data; arrays go to ``self.arrays``."""

    def __init__(self):
        self.arrays = {}
        self.memo = {}
        self.kept = []  # keeps encoded objects alive, so their ids stay unique

    def encode(self, value, where):
        if value is None or isinstance(value, bool | str | int | float):
            return value
        if type(value) is list:
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        for kind, encoder in _ENCODERS:
            if isinstance(value, kind) and _exact_enough(value, kind):
                return encoder(self, value, where)
        if isinstance(value, _tensor_type()):
            return _encode_tensor(self, value, where)
        return self.encode_object(value, where)

    def encode_object(self, value, where):
        if id(value) in self.memo:
            return {"__ref__": self.memo[id(value)]}
        name = _allowed_name(value)
        if name is None:
            raise TypeError(_unsupported_message(value, where))
        self.memo[id(value)] = len(self.memo)
        self.kept.append(value)
        node = {"__object__": name, "id": self.memo[id(value)]}
        node["state"] = self.encode_state(_STATE_GETTERS.get(name, vars)(value), where)
        return node

    def encode_state(self, state, where):
        if type(state) is not dict:
            return self.encode(state, where)
        pairs = [[key, self.encode(v, f"{where}.{key}")] for key, v in state.items()]
        return {"__dict__": pairs}

    def store(self, array):
        key = str(len(self.arrays))
        self.arrays[key] = np.ascontiguousarray(array)
        return key


def _exact_enough(value, kind):
    # A list or dict subclass (such as skorch's History) is an object, not data.
    return kind not in (tuple, dict) or type(value) is kind


def _encode_tuple(writer, value, where):
    items = [writer.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return {"__tuple__": items}


def _encode_dict(writer, value, where):
    return {
        "__dict__": [
            [writer.encode(k, f"{where} key"), writer.encode(v, f"{where}[{k!r}]")]
            for k, v in value.items()
        ]
    }


def _encode_array(writer, value, where):
    if value.dtype.kind in _NUMERIC_KINDS and value.dtype.byteorder != ">":
        return {"__array__": writer.store(value)}
    if value.dtype.kind in _TEXT_KINDS:
        items = [writer.encode(v, f"{where}[...]") for v in value.ravel().tolist()]
        return {"__values__": items, "dtype": value.dtype.str, "shape": value.shape}
    raise TypeError(_unsupported_message(value, where))


def _encode_scalar(writer, value, where):
    if value.dtype.kind not in _NUMERIC_KINDS + "US":
        raise TypeError(_unsupported_message(value, where))
    return {"__scalar__": value.dtype.str, "value": value.item()}


def _encode_dtype(writer, value, where):
    if value.kind not in _NUMERIC_KINDS + _TEXT_KINDS:
        raise TypeError(_unsupported_message(value, where))
    return {"__dtype__": value.str}


def _encode_type(writer, value, where):
    for name, kind in _BUILTIN_TYPES.items():
        if value is kind:
            return {"__type__": name}
    if issubclass(value, np.generic) and np.dtype(value).kind in _NUMERIC_KINDS:
        return {"__type__": np.dtype(value).str}
    raise TypeError(_unsupported_message(value, where))


def _encode_slice(writer, value, where):
    return {"__slice__": [value.start, value.stop, value.step]}


def _encode_random_state(writer, value, where):
    name, keys, position, has_gauss, cached = value.get_state()
    return {"__random_state__": [name, writer.store(keys), position, has_gauss, cached]}


def _encode_method(writer, value, where):
    return {"__method__": value.name}


def _encode_tensor(writer, value, where):
    array = value.detach().cpu().numpy()
    return {"__tensor__": writer.store(array)}


def _tensor_type():
    torch = sys.modules.get("torch")
    return torch.Tensor if torch is not None else _Never


class _Never:
    """Matches nothing: torch is not loaded, so no value can be a tensor."""


_ENCODERS = [
    (tuple, _encode_tuple),
    (dict, _encode_dict),
    (np.ndarray, _encode_array),
    (np.generic, _encode_scalar),
    (np.dtype, _encode_dtype),
    (type, _encode_type),
    (slice, _encode_slice),
    (np.random.RandomState, _encode_random_state),
    (_Method, _encode_method),
]


def _allowed_name(value):
    """The name under which ``value``'s exact class is allowed, or None.

    A FunctionTransformer is allowed only when it holds no function.
    """
    cls = type(value)
    for name, (module, attribute) in _ALLOWED_CLASSES.items():
        if attribute == cls.__name__ and _import_class(module, attribute) is cls:
            return name if _holds_no_code(name, vars(value)) else None
    return None


def _holds_no_code(name, state):
    if name != "sklearn.preprocessing.FunctionTransformer":
        return True
    return all(
        any(_is_value(state.get(key), allowed) for allowed in values)
        for key, values in _CODE_FREE_FUNCTION_TRANSFORMER.items()
    )


def _is_value(value, allowed):
    return value is allowed or (isinstance(value, str) and value == allowed)


def _import_class(module, attribute):
    return getattr(importlib.import_module(module), attribute)


def _unsupported_message(value, where):
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    hint = ""
    if "callbacks" in where:
        hint = " Custom skorch callbacks are code: set callbacks=None before saving."
    elif type(value).__name__ == "FunctionTransformer":
        hint = (
            " A FunctionTransformer is stored only without functions (func and "
            "inverse_func None, as ColumnTransformer's remainder='passthrough' "
            "holds); its function is code."
        )
    return (
        f"save_model cannot store {where} (a {kind}): a safe model file holds "
        "only data and instances of the classes listed in save_model's "
        f"documentation.{hint} Use pickle or joblib for such models, and load "
        "those files only from trusted sources."
    )


def _net_state(net):
    """A HiSSNet as its settings, weights, optimizer state and history."""
    params = net.get_params()
    settings = {
        key: value
        for key, value in params.items()
        if key in _NET_SETTINGS or key.startswith(_NET_PREFIXES)
    }
    return {
        "settings": settings,
        "module_state": dict(net.module_.state_dict()),
        "optimizer_state": net.optimizer_.state_dict(),
        "history": net.history,
    }


def _minisom_state(som):
    return {
        key: _Method(value.__name__) if _is_own_method(som, value) else value
        for key, value in vars(som).items()
    }


def _is_own_method(owner, value):
    return getattr(value, "__self__", None) is owner


_STATE_GETTERS = {
    "sklearn_hiss.HiSSNet": _net_state,
    "skorch.History": list,
    "minisom.MiniSom": _minisom_state,
}


def _write_atomically(path, text, arrays):
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_JSON_MEMBER, text)
            archive.writestr(_ARRAYS_MEMBER, arrays)
        os.replace(temporary, path)
    except BaseException:
        os.remove(temporary)
        raise
    return path


def _library_versions():
    import sklearn

    from . import __version__

    versions = {"sklearn_hiss": __version__, "scikit-learn": sklearn.__version__}
    if "torch" in sys.modules:
        versions["torch"] = sys.modules["torch"].__version__
    return versions


def _import_safetensors():
    try:
        return importlib.import_module("safetensors.numpy")
    except ImportError as error:
        raise ImportError(
            "save_model and load_model need the optional package safetensors. "
            "Install it with `pip install sklearn-hiss[safe]`."
        ) from error


# ------------------------------------------------------------------------ reading


def _refuse(path, reason):
    return ValueError(
        f"load_model refuses {path!r}: {reason} load_model reads only files "
        "written by save_model and never unpickles or evaluates anything; open "
        "a pickle or joblib file only if you trust its source."
    )


def _read_members(path):
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            missing = {_JSON_MEMBER, _ARRAYS_MEMBER} - names
            if missing:
                raise _refuse(path, f"the archive lacks {sorted(missing)}.")
            return archive.read(_JSON_MEMBER), archive.read(_ARRAYS_MEMBER)
    except zipfile.BadZipFile as error:
        raise _refuse(path, "it is not a zip archive (a pickle file?).") from error


def _parse_document(text, path):
    try:
        document = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _refuse(path, f"{_JSON_MEMBER} is not valid JSON ({error}).") from None
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise _refuse(path, f"{_JSON_MEMBER} does not describe a sklearn-hiss model.")
    version = document.get("format_version")
    if not isinstance(version, int) or version > _FORMAT_VERSION:
        raise _refuse(
            path,
            f"it has format version {version!r}, newer than this sklearn-hiss "
            f"reads ({_FORMAT_VERSION}); upgrade sklearn-hiss.",
        )
    root = document.get("root")
    if not isinstance(root, dict) or "__object__" not in root:
        raise _refuse(path, f"{_JSON_MEMBER} holds no model.")
    return document


def _parse_arrays(data, path):
    safetensors_numpy = _import_safetensors()
    try:
        return safetensors_numpy.load(data)
    except Exception as error:  # the parser's own error types vary by version
        raise _refuse(path, f"{_ARRAYS_MEMBER} is not a safetensors file.") from error


def _warn_about_versions(versions):
    import sklearn
    from sklearn.exceptions import InconsistentVersionWarning

    saved = (versions or {}).get("scikit-learn")
    if saved is not None and saved != sklearn.__version__:
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name="the model in this file",
                current_sklearn_version=sklearn.__version__,
                original_sklearn_version=saved,
            ),
            stacklevel=3,
        )


class _Reader:
    """Re-create objects from the JSON tree, with arrays from safetensors."""

    def __init__(self, arrays, path):
        self.arrays = arrays
        self.path = path
        self.objects = {}

    def fail(self, where, reason):
        return _refuse(self.path, f"at {where}, {reason}")

    def decode(self, node, where):
        if node is None or isinstance(node, bool | str | int | float):
            return node
        if isinstance(node, list):
            return [self.decode(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if not isinstance(node, dict):
            raise self.fail(where, f"a value of type {type(node).__name__}.")
        tags = [key for key in node if key in _DECODERS]
        if len(tags) != 1:
            raise self.fail(where, f"an unknown node with keys {sorted(node)[:5]}.")
        return _DECODERS[tags[0]](self, node, where)

    def array(self, key, where):
        if not isinstance(key, str) or key not in self.arrays:
            raise self.fail(where, f"a reference to a missing array {key!r}.")
        return self.arrays[key].copy()

    def decode_object(self, node, where):
        name, number = node.get("__object__"), node.get("id")
        if name not in _ALLOWED_CLASSES:
            raise self.fail(
                where,
                f"the class {name!r}, which load_model never creates (allowed: "
                f"{sorted(_ALLOWED_CLASSES)}). The file may be damaged or crafted.",
            )
        if not isinstance(number, int) or number in self.objects:
            raise self.fail(where, f"an invalid object id {number!r}.")
        state = self.decode(node.get("state"), f"{where}.{name}")
        value = _RESTORERS.get(name, _restore_attributes)(self, name, state, where)
        self.objects[number] = value
        return value


def _decode_ref(reader, node, where):
    number = node["__ref__"]
    if not isinstance(number, int) or number not in reader.objects:
        raise reader.fail(where, f"a reference to an unknown object {number!r}.")
    return reader.objects[number]


def _decode_tuple(reader, node, where):
    return tuple(reader.decode(node["__tuple__"], where))


def _decode_dict(reader, node, where):
    pairs = node["__dict__"]
    if not isinstance(pairs, list) or not all(
        isinstance(p, list) and len(p) == 2 for p in pairs
    ):
        raise reader.fail(where, "a malformed dict.")
    result = {}
    for key, value in pairs:
        result[_hashable(reader.decode(key, where), reader, where)] = reader.decode(
            value, f"{where}[{key!r}]"
        )
    return result


def _hashable(key, reader, where):
    try:
        hash(key)
    except TypeError:
        raise reader.fail(where, f"an unhashable dict key {key!r}.") from None
    return key


def _decode_array(reader, node, where):
    return reader.array(node["__array__"], where)


def _decode_tensor(reader, node, where):
    import torch

    return torch.from_numpy(reader.array(node["__tensor__"], where))


def _checked_dtype(text, kinds, reader, where):
    try:
        dtype = np.dtype(text)
    except (TypeError, ValueError):
        raise reader.fail(where, f"an unknown dtype {text!r}.") from None
    if not isinstance(text, str) or dtype.kind not in kinds:
        raise reader.fail(where, f"a dtype {text!r} that a model file cannot hold.")
    return dtype


def _decode_values(reader, node, where):
    dtype = _checked_dtype(node.get("dtype"), _TEXT_KINDS, reader, where)
    items = reader.decode(node["__values__"], where)
    shape = node.get("shape")
    if not isinstance(items, list) or not isinstance(shape, list):
        raise reader.fail(where, "malformed array values.")
    try:
        array = np.empty(len(items), dtype=dtype)
        array[:] = items if dtype.kind != "O" else _object_column(items)
        return array.reshape(shape)
    except (TypeError, ValueError) as error:
        raise reader.fail(where, f"array values that do not fit ({error}).") from None


def _object_column(items):
    column = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):
        column[i] = item
    return column


def _decode_scalar(reader, node, where):
    dtype = _checked_dtype(node["__scalar__"], _NUMERIC_KINDS + "US", reader, where)
    try:
        return dtype.type(node.get("value"))
    except (TypeError, ValueError, OverflowError):
        raise reader.fail(where, "a scalar that does not fit its dtype.") from None


def _decode_dtype(reader, node, where):
    kinds = _NUMERIC_KINDS + _TEXT_KINDS
    return _checked_dtype(node["__dtype__"], kinds, reader, where)


def _decode_type(reader, node, where):
    name = node["__type__"]
    if name in _BUILTIN_TYPES:
        return _BUILTIN_TYPES[name]
    return _checked_dtype(name, _NUMERIC_KINDS, reader, where).type


def _decode_slice(reader, node, where):
    bounds = node["__slice__"]
    if not (isinstance(bounds, list) and len(bounds) == 3) or not all(
        b is None or (isinstance(b, int) and not isinstance(b, bool)) for b in bounds
    ):
        raise reader.fail(where, "a malformed slice.")
    return slice(*bounds)


def _decode_random_state(reader, node, where):
    fields = node["__random_state__"]
    if not (isinstance(fields, list) and len(fields) == 5) or fields[0] != "MT19937":
        raise reader.fail(where, "a malformed random state.")
    keys = reader.array(fields[1], where)
    state = np.random.RandomState()
    try:
        state.set_state(("MT19937", keys, *fields[2:]))
    except (TypeError, ValueError):
        raise reader.fail(where, "a malformed random state.") from None
    return state


def _decode_method(reader, node, where):
    name = node["__method__"]
    if name not in _MINISOM_METHODS:
        raise reader.fail(where, f"a method name {name!r} that is not allowed.")
    return _Method(name)


_DECODERS = {
    "__ref__": _decode_ref,
    "__object__": _Reader.decode_object,
    "__tuple__": _decode_tuple,
    "__dict__": _decode_dict,
    "__array__": _decode_array,
    "__tensor__": _decode_tensor,
    "__values__": _decode_values,
    "__scalar__": _decode_scalar,
    "__dtype__": _decode_dtype,
    "__type__": _decode_type,
    "__slice__": _decode_slice,
    "__random_state__": _decode_random_state,
    "__method__": _decode_method,
}


def _restore_attributes(reader, name, state, where):
    """An instance of an allowed class with ``state`` as its attributes."""
    if not isinstance(state, dict) or not all(
        isinstance(key, str) and key.isidentifier() and not key.startswith("__")
        for key in state
    ):
        raise reader.fail(where, f"malformed attributes for {name}.")
    if any(isinstance(value, _Method) for value in state.values()):
        raise reader.fail(where, f"a method reference inside {name}.")
    if not _holds_no_code(name, state):
        raise reader.fail(where, f"a {name} that holds a function.")
    value = object.__new__(_import_class(*_ALLOWED_CLASSES[name]))
    value.__dict__.update(state)
    if name == "sklearn_hiss.HiSSClassifier":
        value._upgrade_single_network()
        value._follow_net_device()
    return value


def _restore_history(reader, name, state, where):
    if not isinstance(state, list) or not all(isinstance(e, dict) for e in state):
        raise reader.fail(where, "a malformed training history.")
    return _import_class(*_ALLOWED_CLASSES[name])(state)


def _restore_minisom(reader, name, state, where):
    methods = {k: v for k, v in state.items() if isinstance(v, _Method)}
    plain = {k: v for k, v in state.items() if k not in methods}
    som = _restore_attributes(reader, name, plain, where)
    for key, method in methods.items():
        if not key.isidentifier() or key.startswith("__"):
            raise reader.fail(where, f"a malformed attribute name {key!r}.")
        setattr(som, key, getattr(som, method.name))
    return som


def _restore_net(reader, name, state, where):
    if not isinstance(state, dict) or set(state) != {
        "settings",
        "module_state",
        "optimizer_state",
        "history",
    }:
        raise reader.fail(where, "a malformed network.")
    settings = state["settings"]
    unknown = [
        key
        for key in settings
        if key not in _NET_SETTINGS and not str(key).startswith(_NET_PREFIXES)
    ]
    if unknown:
        raise reader.fail(where, f"network settings that are not allowed: {unknown}.")
    try:
        return _rebuilt_net(settings, state)
    except Exception as error:  # torch and skorch raise many kinds here
        raise reader.fail(
            where, f"a network that does not rebuild ({error})."
        ) from None


def _rebuilt_net(settings, state):
    import torch
    from skorch.utils import get_map_location

    from ._network import HiSSLoss, HiSSModule
    from ._skorch import BatchIterator, HiSSNet

    device = get_map_location(settings.get("device", "cpu"))
    net = HiSSNet(
        module=HiSSModule,
        criterion=HiSSLoss,
        optimizer=torch.optim.Adam,
        iterator_train=BatchIterator,
        iterator_valid=BatchIterator,
        train_split=None,
        **{**settings, "device": str(device)},
    )
    with torch.random.fork_rng(devices=[]):
        net.initialize()  # its random initial weights are replaced just below
    net.module_.load_state_dict(state["module_state"], strict=True)
    net.optimizer_.load_state_dict(state["optimizer_state"])
    net.history = state["history"]
    return net


_RESTORERS = {
    "sklearn_hiss.HiSSNet": _restore_net,
    "skorch.History": _restore_history,
    "minisom.MiniSom": _restore_minisom,
}
