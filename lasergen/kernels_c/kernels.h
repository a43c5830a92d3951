/* Shared by lasergen's compiled kernels: array access through the buffer protocol. */
#ifndef LASERGEN_KERNELS_H
#define LASERGEN_KERNELS_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static inline int get(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, int writable, Py_ssize_t n, const char *name)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) < 0)
        return -1;
    if (view->itemsize != itemsize || (n >= 0 && view->len != n * itemsize)) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd items of %zd bytes", name, n, itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static inline double dmin(double a, double b) { return a < b ? a : b; }
static inline double dmax(double a, double b) { return a > b ? a : b; }

PyObject *format_rows(PyObject *self, PyObject *args);
PyObject *scan_lines(PyObject *self, PyObject *args);
PyObject *improve_path(PyObject *self, PyObject *args);
PyObject *plan_totals(PyObject *self, PyObject *args);
PyObject *mark_bounds(PyObject *self, PyObject *args);
PyObject *count_runs(PyObject *self, PyObject *args);
PyObject *serpentine_runs(PyObject *self, PyObject *args);
PyObject *raster_rows(PyObject *self, PyObject *args);

#endif
