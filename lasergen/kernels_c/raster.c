/* Raster passes: a mask's runs in serpentine order (raster.serpentine_runs_numpy's twin) and
 * the toolpath rows of those runs (raster.raster_rows_numpy's twin), one pass over each. */
#include "kernels.h"

enum { RAPID = 0, LINE = 1 };

/* count_runs(sampled): (runs of True over all rows, rows holding at least one) */
PyObject *count_runs(PyObject *self, PyObject *args)
{
    PyObject *o;
    if (!PyArg_ParseTuple(args, "O", &o))
        return NULL;
    Py_buffer b;
    if (PyObject_GetBuffer(o, &b, PyBUF_C_CONTIGUOUS | PyBUF_ND) < 0)
        return NULL;
    if (b.itemsize != 1 || b.ndim != 2) {
        PyBuffer_Release(&b);
        PyErr_SetString(PyExc_ValueError, "sampled: expected a 2-D array of bytes");
        return NULL;
    }
    Py_ssize_t rows = b.shape[0], cols = b.shape[1], runs = 0, lines = 0;
    const uint8_t *m = b.buf;
    for (Py_ssize_t r = 0; r < rows; r++) {
        const uint8_t *row = m + r * cols;
        Py_ssize_t here = 0;
        uint8_t prev = 0;
        for (Py_ssize_t c = 0; c < cols; c++) {
            here += row[c] && !prev;
            prev = row[c];
        }
        runs += here;
        lines += here > 0;
    }
    PyBuffer_Release(&b);
    return Py_BuildValue("(nn)", runs, lines);
}

/* serpentine_runs(sampled, lines_before, line, entry, exit, forward): the runs in execution
 * order. Rows top-down, or bottom-up when lines_before > 0 (a reversed pass: it gives the
 * non-empty lines' count, which sets the parity so that the pass starts travelling back along
 * its first line); the g-th non-empty line runs forward (left to right) when g + lines_before
 * is even. entry / exit: the run's pixel edges in travel order (first col, last col + 1). */
PyObject *serpentine_runs(PyObject *self, PyObject *args)
{
    PyObject *o[5];
    Py_ssize_t lines_before;
    if (!PyArg_ParseTuple(args, "OnOOOO", &o[0], &lines_before, &o[1], &o[2], &o[3], &o[4]))
        return NULL;
    Py_buffer m;
    if (PyObject_GetBuffer(o[0], &m, PyBUF_C_CONTIGUOUS | PyBUF_ND) < 0)
        return NULL;
    if (m.itemsize != 1 || m.ndim != 2) {
        PyBuffer_Release(&m);
        PyErr_SetString(PyExc_ValueError, "sampled: expected a 2-D array of bytes");
        return NULL;
    }
    Py_buffer b[4];
    static const Py_ssize_t size[4] = {4, 4, 4, 1};
    static const char *names[4] = {"line", "entry", "exit", "forward"};
    Py_ssize_t n = -1;
    for (int i = 0; i < 4; i++) {
        if (get(o[i + 1], &b[i], size[i], 1, n, names[i]) < 0) {
            while (i--)
                PyBuffer_Release(&b[i]);
            PyBuffer_Release(&m);
            return NULL;
        }
        n = b[i].len / size[i];
    }
    int32_t *line = b[0].buf, *entry = b[1].buf, *exit_ = b[2].buf;
    uint8_t *forward = b[3].buf;
    const Py_ssize_t rows = m.shape[0], cols = m.shape[1];
    const int reverse = lines_before > 0;
    Py_ssize_t k = 0, g = lines_before, overflow = rows > INT32_MAX || cols >= INT32_MAX; /* runs are int32 */
    for (Py_ssize_t s = 0; s < rows && !overflow; s++) {
        Py_ssize_t r = reverse ? rows - 1 - s : s;
        const uint8_t *row = (const uint8_t *)m.buf + r * cols;
        Py_ssize_t k0 = k;
        int fwd = g % 2 == 0;
        if (fwd) {
            for (Py_ssize_t c = 0; c < cols;) {
                if (!row[c]) {
                    c++;
                    continue;
                }
                Py_ssize_t a = c;
                while (c < cols && row[c])
                    c++;
                if (k >= n) {
                    overflow = 1;
                    break;
                }
                line[k] = (int32_t)r, entry[k] = (int32_t)a, exit_[k] = (int32_t)c, forward[k] = 1, k++;
            }
        } else {
            for (Py_ssize_t c = cols; c > 0;) {
                if (!row[c - 1]) {
                    c--;
                    continue;
                }
                Py_ssize_t e = c;
                while (c > 0 && row[c - 1])
                    c--;
                if (k >= n) {
                    overflow = 1;
                    break;
                }
                line[k] = (int32_t)r, entry[k] = (int32_t)e, exit_[k] = (int32_t)c, forward[k] = 0, k++;
            }
        }
        g += k > k0;
    }
    for (int i = 0; i < 4; i++)
        PyBuffer_Release(&b[i]);
    PyBuffer_Release(&m);
    if (overflow || k != n) {
        PyErr_SetString(PyExc_ValueError, "serpentine_runs: the arrays do not hold count_runs' runs");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* raster_rows(line, entry, exit, forward, line_y, rapid_by_width, x0, pitch, t_kind, t_x1, t_y1,
 *             t_speed, t_used, run_up, v, energy, kind, x1, y1, speed, energy_out, mark_at): see
 * raster.raster_rows. X = x0 + col * pitch, Y = line_y[line]; a gap inside a line is a G0 where
 * rapid_by_width[its width in columns]; turns (m x 3 slots) are taken in order at each run that
 * ends a line another line follows. v and energy arrive as float32 values; mark_at may be None
 * (the marks' rows are not wanted). */
PyObject *raster_rows(PyObject *self, PyObject *args)
{
    PyObject *o[17];
    double x0, pitch, run_up, v_in, e_in;
    if (!PyArg_ParseTuple(args, "OOOOOOddOOOOOdddOOOOOO", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &x0, &pitch,
                          &o[6], &o[7], &o[8], &o[9], &o[10], &run_up, &v_in, &e_in, &o[11], &o[12], &o[13], &o[14],
                          &o[15], &o[16]))
        return NULL;
    static const Py_ssize_t size[17] = {4, 4, 4, 1, 8, 1, 1, 8, 8, 4, 1, 1, 8, 8, 4, 4, 8};
    static const int writable[17] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
    static const char *names[17] = {"line", "entry", "exit", "forward", "line_y", "rapid_by_width", "t_kind",
                                    "t_x1", "t_y1", "t_speed", "t_used", "kind", "x1", "y1", "speed", "energy",
                                    "mark_at"};
    Py_buffer b[17];
    const int nb = o[16] == Py_None ? 16 : 17; /* buffers taken */
    for (int i = 0; i < nb; i++) {
        Py_ssize_t want = -1;
        if ((i > 0 && i < 4) || i == 16)
            want = b[0].len / 4; /* per run */
        else if (i > 6 && i < 11)
            want = b[6].len; /* per turn slot */
        else if (i > 11 && i < 16)
            want = b[11].len; /* per row */
        if (get(o[i], &b[i], size[i], writable[i], want, names[i]) < 0) {
            while (i--)
                PyBuffer_Release(&b[i]);
            return NULL;
        }
    }
    const int32_t *line = b[0].buf, *entry_col = b[1].buf, *exit_col = b[2].buf;
    const double *line_y = b[4].buf, *t_x1 = b[7].buf, *t_y1 = b[8].buf;
    const uint8_t *forward = b[3].buf, *rapid_by_width = b[5].buf, *t_kind = b[6].buf, *t_used = b[10].buf;
    const float *t_speed = b[9].buf;
    uint8_t *kind = b[11].buf;
    double *x1 = b[12].buf, *y1 = b[13].buf;
    float *speed = b[14].buf, *energy = b[15].buf;
    int64_t *mark_at = nb == 17 ? b[16].buf : NULL;
    const Py_ssize_t n = b[0].len / 4, lines = b[4].len / 8, widths = b[5].len, turns = b[6].len / 3;
    const Py_ssize_t rows = b[11].len;
    const float v = (float)v_in, e = (float)e_in;
    Py_ssize_t r = 0, t = 0;
    int ok = n > 0 && rows >= 2;
    for (Py_ssize_t i = 0; ok && i < n; i++)
        ok = line[i] >= 0 && line[i] < lines;
    if (ok) {
        double d0 = forward[0] ? 1.0 : -1.0, entry0 = x0 + (double)entry_col[0] * pitch;
        kind[0] = RAPID, x1[0] = entry0 - d0 * run_up, y1[0] = line_y[line[0]], speed[0] = 0.0f, energy[0] = 0.0f;
        kind[1] = LINE, x1[1] = entry0, y1[1] = line_y[line[0]], speed[1] = v, energy[1] = 0.0f;
        r = 2;
    }
    for (Py_ssize_t i = 0; ok && i < n; i++) {
        if (r + 1 >= rows) {
            ok = 0;
            break;
        }
        const double y = line_y[line[i]], exit_x = x0 + (double)exit_col[i] * pitch;
        const int last = i + 1 == n || line[i + 1] != line[i];
        if (mark_at)
            mark_at[i] = r;
        kind[r] = LINE, x1[r] = exit_x, y1[r] = y, speed[r] = v, energy[r] = e, r++;
        if (last && i + 1 < n) { /* a line change: the used slots of turn t */
            if (t >= turns) {
                ok = 0;
                break;
            }
            for (int slot = 0; slot < 3 && ok; slot++) {
                Py_ssize_t at = 3 * t + slot;
                if (!t_used[at])
                    continue;
                if (r >= rows) {
                    ok = 0;
                    break;
                }
                kind[r] = t_kind[at], x1[r] = t_x1[at], y1[r] = t_y1[at];
                speed[r] = t_kind[at] == RAPID ? 0.0f : t_speed[at], energy[r] = 0.0f, r++;
            }
            t++;
        } else if (last) { /* the pass's lead-out */
            double d = forward[i] ? 1.0 : -1.0;
            kind[r] = LINE, x1[r] = exit_x + d * run_up, y1[r] = y, speed[r] = v, energy[r] = 0.0f, r++;
        } else { /* a gap: a blank G1 at v, or a collinear G0 */
            int64_t gap = forward[i] ? (int64_t)entry_col[i + 1] - exit_col[i] : (int64_t)exit_col[i] - entry_col[i + 1];
            if (gap < 0 || gap >= widths) {
                ok = 0;
                break;
            }
            int rapid = rapid_by_width[gap] != 0;
            kind[r] = rapid ? RAPID : LINE, x1[r] = x0 + (double)entry_col[i + 1] * pitch, y1[r] = y;
            speed[r] = rapid ? 0.0f : v, energy[r] = 0.0f, r++;
        }
    }
    for (int i = 0; i < nb; i++)
        PyBuffer_Release(&b[i]);
    if (!ok || r != rows || t != turns) {
        PyErr_SetString(PyExc_ValueError, "raster_rows: the rows do not match the runs and turns");
        return NULL;
    }
    Py_RETURN_NONE;
}
