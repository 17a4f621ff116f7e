"""Checks of HiSSClassifier's settings and inputs that run before any fitting.

Each check fails (or warns) with a message naming the setting, the value
received and the fix, so that nothing surfaces later as an error from deep
inside torch or as a silently wrong model.
"""

import math
import warnings
from collections.abc import Mapping
from numbers import Real

import numpy as np

__all__ = [
    "check_device",
    "check_loss_weights",
    "check_pseudo_labels",
    "check_settings",
    "column_labels",
    "warn_about_pseudo_label_column",
]

PSEUDO_LABEL_COLUMN = "pseudo_label"


def check_settings(estimator):
    """Check a HiSSClassifier's device, loss weights and pseudo-label source."""
    check_device(estimator.device)
    check_loss_weights(estimator.task_weights, estimator.class_weight)
    check_pseudo_labels(estimator.pseudo_labels)


def check_pseudo_labels(source):
    """Refuse a pseudo-label source that is none of the documented ones."""
    if source is None or hasattr(source, "fit_predict"):
        return
    if isinstance(source, str) and source in ("som", "passthrough"):
        return
    raise ValueError(
        "pseudo_labels must be 'som', 'passthrough', None or a clusterer with "
        f"fit_predict; got {source!r}."
    )


def check_device(device):
    """Refuse a torch device that does not exist or is not available here.

    ``None`` (skorch: leave tensors where they are) and ``"accelerate"`` pass
    unchecked; Accelerate chooses its own devices.
    """
    if device is None or (isinstance(device, str) and device == "accelerate"):
        return
    import torch

    try:
        parsed = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"device={device!r} is not a torch device; use 'cpu', 'cuda', "
            "'cuda:<index>', 'mps' or 'accelerate'."
        ) from None
    _check_available(device, parsed, torch)


def _check_available(device, parsed, torch):
    if parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(
                f"device={device!r}, but torch sees no CUDA GPU here "
                f"(torch {torch.__version__} built with CUDA "
                f"{torch.version.cuda}); install a CUDA build of torch on a "
                "machine with an NVIDIA GPU, or use device='cpu'."
            )
        if parsed.index is not None and parsed.index >= count:
            raise ValueError(
                f"device={device!r}, but torch sees {count} CUDA GPU(s), numbered "
                f"from 0 to {count - 1}; pick one of those, or use device='cuda'."
            )
    elif parsed.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={device!r}, but the Apple MPS backend is not available on "
            "this machine; use device='cpu'."
        )


def check_loss_weights(task_weights, class_weight):
    """Refuse task or class weights that are negative, NaN or infinite.

    Shapes and names are checked where the weights are used; this check only
    looks at the numbers, before anything is fitted.
    """
    if task_weights is not None:
        items = (
            task_weights.items()
            if isinstance(task_weights, Mapping)
            else enumerate(np.ravel(np.asarray(task_weights, dtype=object)))
        )
        for key, weight in items:
            _check_weight(weight, f"task_weights[{key!r}]")
    if isinstance(class_weight, Mapping):
        class_weight = [class_weight]
    if isinstance(class_weight, list | tuple):
        for t, weights in enumerate(class_weight):
            for label, weight in dict(weights).items():
                _check_weight(weight, f"class_weight[{t}][{label!r}]")


def _check_weight(weight, where):
    is_number = isinstance(weight, Real | np.number) and not isinstance(
        weight, bool | np.bool_
    )
    if not is_number or not math.isfinite(weight) or weight < 0:
        raise ValueError(
            f"{where} is {weight!r}; loss weights must be finite numbers >= 0 "
            "(0 leaves that sub-task or class out of the loss, 1 is the default)."
        )


def warn_about_pseudo_label_column(feature_names, pseudo_labels):
    """Warn when X's column names contradict the ``pseudo_labels`` setting.

    With ``"passthrough"`` the last column is read as pseudo-labels, so a last
    column named otherwise is probably a feature; without it, a column named
    ``pseudo_label`` (as an upstream SOMPseudoLabeler appends) would be used as
    a feature. Arrays without column names pass unchecked.
    """
    if feature_names is None or not len(feature_names):
        return
    passthrough = isinstance(pseudo_labels, str) and pseudo_labels == "passthrough"
    if passthrough and not _is_pseudo_label_name(feature_names[-1]):
        _warn(
            "pseudo_labels='passthrough' reads the last column of X as the "
            f"pseudo-labels, but that column is named {feature_names[-1]!r}, not "
            f"{PSEUDO_LABEL_COLUMN!r}: it will not be used as a feature. Put a "
            "SOMPseudoLabeler right before HiSSClassifier, or use "
            "pseudo_labels='som' (the default) to cluster the features inside fit."
        )
    named = [str(n) for n in feature_names if _is_pseudo_label_name(n)]
    if not passthrough and named:
        _warn(
            f"X has a column named {named[0]!r}, as a SOMPseudoLabeler appends, "
            f"but pseudo_labels={pseudo_labels!r}, so it is used as a numeric "
            "feature. Set pseudo_labels='passthrough' to read the pseudo-labels "
            "from it instead (and to fit no second pseudo-labeler)."
        )


def _is_pseudo_label_name(name):
    text = str(name)
    return text == PSEUDO_LABEL_COLUMN or text.endswith(f"__{PSEUDO_LABEL_COLUMN}")


def _warn(message):
    # Frames: _warn, warn_about_pseudo_label_column, HiSSClassifier.fit, caller.
    warnings.warn(message, UserWarning, stacklevel=4)


def column_labels(positions, feature_names=None, limit=10):
    """Names of the columns at ``positions`` (their positions when X had none)."""
    positions = np.asarray(positions, dtype=np.intp)[:limit]
    if feature_names is None or len(feature_names) <= positions.max(initial=-1):
        return positions.tolist()
    return [str(feature_names[p]) for p in positions]
