"""HiSS: hierarchical multi-task learning with a self-supervised auxiliary task.

One scikit-learn classifier for many related yes/no (or multi-class) questions
grouped under main tasks, with the building blocks of the method as transformers.
"""

from ._factor import FactorAnalysisWarning, FactorReducer
from ._persistence import load_model, save_model
from ._show_versions import show_versions
from ._som import SOMPseudoLabeler

__version__ = "0.1.0.dev0"

__all__ = [
    "FactorAnalysisWarning",
    "FactorReducer",
    "HiSSClassifier",
    "SOMPseudoLabeler",
    "__version__",
    "load_model",
    "save_model",
    "show_versions",
]


def __getattr__(name):
    # torch is imported only when the classifier is first used, so that the data
    # loaders and transformers stay cheap to import.
    if name == "HiSSClassifier":
        from ._classifier import HiSSClassifier

        return HiSSClassifier
    raise AttributeError(f"module 'sklearn_hiss' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
