# Sphinx configuration of the lasergen documentation: API pages from the docstrings
# (autodoc), narrative pages in Markdown (MyST). Built with warnings as errors by
# tests/api/test_docs.py: `python -m sphinx -W -b html docs docs/_build/html`.
project = "lasergen"
author = "lasergen contributors"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # signatures stay readable; units are in the names
html_theme = "alabaster"
nitpicky = False
