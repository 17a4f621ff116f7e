"""HiSS: hierarchical multi-task learning with a self-supervised auxiliary task."""

__version__ = "0.1.0.dev0"
