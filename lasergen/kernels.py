"""The compiled kernels (`kernels_c/`, built by the normal install as `_kernels`) and their numpy references.

  kernel         used by                what it replaces (the reference, kept and tested identical)
  format_rows    emit.format_rows       the byte-matrix formatter (emit._format_rows_numpy)
  scan_lines     fastread.read_chunk    the grammar regex, the windowed number parser, the modal forward fill
  improve_path   ordering.order_points  (no twin: without it, the vectorised bounded 2-opt runs)
  serpentine_runs, raster_rows
                 raster.plan_raster     raster.serpentine_runs_numpy, raster.raster_rows_numpy
Why these: G-code text is the one stage numpy cannot do without per-character temporaries (the
formatter and the reader were 30-50 % of planning and nearly all of `estimate`), and local
search on a tour is sequential. Everything else stays vectorised numpy.
`LASERGEN_KERNELS=numpy` (or `kernels.compiled = None`) runs the references; it also turns off
the simulator's render kernel (`hardware_sim/glass/kernels_c/display.c`, loaded by `optional`).
"""

from __future__ import annotations

import importlib
import os

REFERENCES_ONLY = os.environ.get("LASERGEN_KERNELS", "").lower() == "numpy"

try:
    from lasergen import _kernels as compiled
except ImportError:  # built without a C compiler: the references run
    compiled = None

if REFERENCES_ONLY:
    compiled = None


def optional(name: str):
    """Another compiled module of the project by its dotted name, or None when it was not built
    or the references are to run."""
    if REFERENCES_ONLY:
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def get():
    """The compiled module, or None when the numpy references are to run."""
    return compiled
