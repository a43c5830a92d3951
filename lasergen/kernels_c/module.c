/* Compiled kernels of lasergen, each the twin of a numpy reference (lasergen/kernels.py says
 * which) and tested byte- or bit-identical to it; built by the normal install, optional (no
 * compiler: the numpy references run). Arrays come through the buffer protocol, so no numpy
 * headers are needed at build time. Floating point follows the references operation by
 * operation: float32 where numpy computes in float32 (NEP 50), no FMA contraction.
 *
 *   format_rows   toolpath rows (with their F, S and P words computed by numpy) -> G-code
 *                 lines in lasergen's GRBL dialect (emit.py)
 *   scan_lines    lasergen's dialect -> per line: kind, comment flag, X Y F S P words and the
 *                 modal state after it (fastread.py's grammar, number parsing, forward fill)
 *   plan_totals   one planning window of GRBL's planner model and its per-category time and
 *                 distance sums (motion._plan_window, trapezoid_times, estimate's bincounts)
 *   mark_bounds   count and bounding box of the marks (Toolpath.mark_bounds_mm)
 *   count_runs, serpentine_runs, raster_rows
 *                 a raster pass: the mask's runs in serpentine order, then their toolpath
 *                 rows (raster.serpentine_runs_numpy, raster.raster_rows_numpy)
 *   improve_path  2-opt and Or-opt of an open path from a fixed start, with neighbour lists
 *                 and don't-look bits (ordering.py)
 */
#include "kernels.h"

static PyMethodDef methods[] = {
    {"format_rows", format_rows, METH_VARARGS, "G-code lines of toolpath rows (emit.format_rows)"},
    {"scan_lines", scan_lines, METH_VARARGS, "kinds, words and modal state of lines in lasergen's dialect (fastread)"},
    {"improve_path", improve_path, METH_VARARGS, "2-opt + Or-opt of an open path in place; returns the moves made"},
    {"mark_bounds", mark_bounds, METH_VARARGS, "count and bounds of the masked rows"},
    {"count_runs", count_runs, METH_VARARGS, "runs of True and non-empty rows of a 2-D byte mask"},
    {"serpentine_runs", serpentine_runs, METH_VARARGS, "a mask's runs in serpentine execution order (raster.py)"},
    {"raster_rows", raster_rows, METH_VARARGS, "toolpath rows of a raster pass's runs (raster.py)"},
    {"plan_totals", plan_totals, METH_VARARGS, "GRBL planner window -> (carry, time and distance per category)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", "lasergen's compiled kernels", -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
