"""The documentation covers the public API, and its code runs as written.

Every public name needs an entry in docs/api.rst (so it gets a page), and the
``>>>`` examples of the user guide run as doctests, so the guide cannot drift
from the package.
"""

import doctest
import importlib
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
API = DOCS / "api.rst"
PUBLIC_MODULES = (
    "sklearn_hiss",
    "sklearn_hiss.metrics",
    "sklearn_hiss.datasets",
    "sklearn_hiss.plotting",
)
# Pages written by hand that hold ``>>>`` examples (not the build's output).
GUIDE_PAGES = sorted(
    path.relative_to(DOCS)
    for path in [*DOCS.glob("*.rst"), *DOCS.glob("user_guide/*.rst")]
    if ">>> " in path.read_text()
)


def documented_names(text):
    """Fully qualified names listed in the autosummary tables of ``text``."""
    names, module, in_table = set(), None, False
    for line in text.splitlines():
        if match := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = match.group(1)
        elif line.startswith(".. autosummary::"):
            in_table = True
        elif in_table and re.match(r"   [A-Za-z_]\w*$", line):
            names.add(f"{module}.{line.strip()}")
        elif line and not line.startswith(" "):
            in_table = False
    return names


def public_names():
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            yield module_name, name


def test_documented_names_reads_autosummary_tables():
    text = (
        ".. currentmodule:: pkg\n\n.. autosummary::\n   :toctree: generated/\n\n"
        "   Alpha\n   beta\n\nProse mentioning Gamma.\n"
    )
    assert documented_names(text) == {"pkg.Alpha", "pkg.beta"}


@pytest.mark.parametrize(("module_name", "name"), list(public_names()))
def test_every_public_name_has_an_api_page(module_name, name):
    text = API.read_text()
    if name.startswith("__"):
        # Module data such as __version__ is named in the prose.
        assert f"{module_name}.{name}" in text
    else:
        assert f"{module_name}.{name}" in documented_names(text), (
            f"{module_name}.{name} is public but has no entry in docs/api.rst; add "
            "it to an autosummary table there."
        )


@pytest.mark.parametrize(
    ("module_name", "name"),
    [(module, name) for module, name in public_names() if not name.startswith("__")],
)
def test_every_public_name_has_runnable_examples(module_name, name):
    docstring = getattr(importlib.import_module(module_name), name).__doc__ or ""
    assert re.search(r"^\s*Examples\n\s*-{8}\n\s*>>> ", docstring, flags=re.M), (
        f"{module_name}.{name} needs an Examples section with >>> lines."
    )


def test_api_lists_only_names_that_exist():
    for qualified in documented_names(API.read_text()):
        module_name, name = qualified.rsplit(".", 1)
        module = importlib.import_module(module_name)
        assert name in module.__all__, f"docs/api.rst lists {qualified}"


def test_user_guide_has_runnable_examples():
    assert len(GUIDE_PAGES) >= 6, GUIDE_PAGES


@pytest.mark.parametrize("page", GUIDE_PAGES, ids=str)
def test_user_guide_examples_run(page):
    text = (DOCS / page).read_text()
    test = doctest.DocTestParser().get_doctest(text, {}, str(page), str(page), 0)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    runner = doctest.DocTestRunner(optionflags=flags)
    runner.run(test)
    assert runner.failures == 0, f"{runner.failures} failing examples in {page}"
