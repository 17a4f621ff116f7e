"""Sphinx configuration of the sklearn-hiss documentation.

The build is offline: no intersphinx inventories and no remote images. Gallery
examples run in this process with one torch thread, so their timings match a
2-core machine shared with other work.
"""

import sys
from pathlib import Path

import matplotlib
from numpydoc.xref import DEFAULT_LINKS

matplotlib.use("Agg")

import sklearn_hiss  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))  # for _gallery_setup

project = "sklearn-hiss"
author = "sklearn-hiss developers"
copyright = "sklearn-hiss developers, BSD-3-Clause"
release = sklearn_hiss.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
# The timing pages load table scripts from CDNs; the build log lists the times.
exclude_patterns = ["_build", "sg_execution_times.rst", "**/sg_execution_times.rst"]
root_doc = "index"
default_role = "literal"

# --- API reference -------------------------------------------------------------------
autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
# Types are cross-referenced only where we say so; this also keeps names such as
# ``n_features_in_`` in a type from being read as reStructuredText links.
numpydoc_xref_param_type = True
numpydoc_xref_ignore = "all"
# numpydoc's default aliases point into other projects' inventories, which an
# offline build does not have: show those type names as plain names.
numpydoc_xref_aliases = {name: name for name in DEFAULT_LINKS}
# A documented parameter must exist, and every parameter must be documented.
numpydoc_validation_checks = {"PR01", "PR02"}

# --- Gallery -------------------------------------------------------------------------


sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("sklearn_hiss",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"sklearn_hiss": None},
    "reset_modules": ("matplotlib", "_gallery_setup.one_torch_thread"),
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "remove_config_comments": True,
    "download_all_examples": False,
    "min_reported_time": 0,
    "show_memory": False,
    "write_computation_times": True,
    "capture_repr": ("_repr_html_", "__repr__"),
}

# --- HTML ----------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-hiss {release}"
html_static_path = []
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_prev_next": True,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": [], "install": [], "changelog": []}
