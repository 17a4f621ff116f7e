"""HiSS: hierarchical multi-task learning with a self-supervised auxiliary task.

One scikit-learn classifier for many related yes/no (or multi-class) questions
grouped under main tasks, with the building blocks of the method as transformers.
"""

from ._classifier import HiSSClassifier
from ._factor import FactorAnalysisWarning, FactorReducer
from ._som import SOMPseudoLabeler

__version__ = "0.1.0.dev0"

__all__ = [
    "FactorAnalysisWarning",
    "FactorReducer",
    "HiSSClassifier",
    "SOMPseudoLabeler",
    "__version__",
]
