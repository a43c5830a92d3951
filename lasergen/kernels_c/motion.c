/* GRBL's planner model over one window (motion.plan_totals_numpy's twin) and mark bounds. */
#include "kernels.h"

/* ---------------------------------------------------------------- plan_totals */

/* motion._axis_limited over X, Y, Z: with uz = 0 the same bits as over X and Y alone */
static double axis_limited(double ux, double uy, double uz, double inv0, double inv1, double inv2)
{
    double a = fabs(ux) * inv0, b = fabs(uy) * inv1, c = fabs(uz) * inv2;
    double m = a > b ? a : b; /* np.maximum: no NaN here (blocks have length) */
    return 1.0 / (m > c ? m : c);
}


/* motion._plan_window followed by trapezoid_times and the per-category sums of estimate */
PyObject *plan_totals(PyObject *self, PyObject *args)
{
    PyObject *o[10];
    Py_ssize_t k, K;
    int at_end;
    double carry, rate0, rate1, rate2, acc0, acc1, acc2, deviation;
    Py_ssize_t horizon;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOnnpddddddddn", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7],
                          &o[8], &o[9], &k, &K, &at_end, &carry, &rate0, &rate1, &rate2, &acc0, &acc1, &acc2,
                          &deviation, &horizon))
        return NULL;
    Py_buffer b[10];
    static const Py_ssize_t size[10] = {8, 8, 8, 8, 1, 4, 4, 4, 1, 1};
    static const char *names[10] = {"x0", "y0", "x1", "y1", "kind", "speed", "z0", "z1", "sync", "category"};
    Py_ssize_t m = -1;
    for (int i = 0; i < 10; i++) {
        if (get(o[i], &b[i], size[i], 0, m, names[i]) < 0) {
            while (i--)
                PyBuffer_Release(&b[i]);
            return NULL;
        }
        m = b[i].len / size[i];
    }
    if (k < 0 || K < 1 || k + K > m) {
        for (int i = 0; i < 10; i++)
            PyBuffer_Release(&b[i]);
        PyErr_SetString(PyExc_ValueError, "plan_totals: blocks k..k+K outside the window");
        return NULL;
    }
    const double *x0 = b[0].buf, *y0 = b[1].buf, *x1 = b[2].buf, *y1 = b[3].buf;
    const uint8_t *kind = b[4].buf, *sync = b[8].buf, *cat = b[9].buf;
    const float *speed = b[5].buf, *z0 = b[6].buf, *z1 = b[7].buf;
    double *mem = PyMem_Malloc(sizeof(double) * (8 * (size_t)m + 3));
    if (!mem) {
        for (int i = 0; i < 10; i++)
            PyBuffer_Release(&b[i]);
        return PyErr_NoMemory();
    }
    double *len = mem, *ux = len + m, *uy = ux + m, *uz = uy + m, *vnom = uz + m, *acc = vnom + m, *Q = acc + m,
           *w = Q + m + 1;
    double tsum[4] = {0, 0, 0, 0}, dsum[4] = {0, 0, 0, 0};
    Py_BEGIN_ALLOW_THREADS
    const double ir0 = 1.0 / rate0, ir1 = 1.0 / rate1, ir2 = 1.0 / rate2;
    const double ia0 = 1.0 / acc0, ia1 = 1.0 / acc1, ia2 = 1.0 / acc2;
    for (Py_ssize_t i = 0; i < m; i++) {
        double dx = x1[i] - x0[i], dy = y1[i] - y0[i], dz = (double)z1[i] - (double)z0[i];
        len[i] = dz != 0.0 ? sqrt(dx * dx + dy * dy + dz * dz) : sqrt(dx * dx + dy * dy);
        ux[i] = dx / len[i];
        uy[i] = dy / len[i];
        uz[i] = dz / len[i];
        double v_rapid = axis_limited(ux[i], uy[i], uz[i], ir0, ir1, ir2);
        vnom[i] = kind[i] == 0 ? v_rapid : dmin((double)speed[i], v_rapid);
        acc[i] = axis_limited(ux[i], uy[i], uz[i], ia0, ia1, ia2);
    }
    Q[0] = 0.0;
    for (Py_ssize_t i = 0; i < m; i++)
        Q[i + 1] = Q[i] + 2 * acc[i] * len[i];
    /* w[i] = c[i] + Q[i], c: 0 at both ends of the window, else the junction's squared cap */
    w[0] = 0.0 + Q[0];
    w[m] = 0.0 + Q[m];
    for (Py_ssize_t i = 1; i < m; i++) {
        double c;
        if (sync[i]) {
            c = 0.0;
        } else {
            double cos_theta = -(ux[i] * ux[i - 1] + uy[i] * uy[i - 1] + uz[i] * uz[i - 1]);
            double junction;
            if (cos_theta > 0.999999) {
                junction = 0.0;
            } else if (cos_theta < -0.999999) {
                junction = INFINITY;
            } else {
                double jx = ux[i] - ux[i - 1], jy = uy[i] - uy[i - 1], jz = uz[i] - uz[i - 1];
                double a_j = sqrt(jx * jx + jy * jy + jz * jz) / dmax(dmax(fabs(jx) * ia0, fabs(jy) * ia1), fabs(jz) * ia2);
                double sn = sqrt(0.5 * (1.0 - dmax(cos_theta, -0.999999)));
                junction = a_j * deviation * sn / (1.0 - sn);
            }
            double v = dmin(vnom[i], vnom[i - 1]);
            c = dmin(junction, v * v);
        }
        w[i] = c + Q[i];
    }
    for (Py_ssize_t i = m - 1; i >= 0; i--) /* backward pass: reverse cumulative minimum */
        w[i] = dmin(w[i], w[i + 1]);
    for (Py_ssize_t i = 0; i <= m; i++) {
        Py_ssize_t ahead = i + horizon < m ? i + horizon : m;
        w[i] = dmin(w[i] - Q[i], Q[ahead] - Q[i]);
    }
    if (at_end)
        w[m] = 0.0;
    /* forward pass over entries k..k+K, then each block's trapezoid */
    double running = carry - Q[k], v_prev = 0.0;
    for (Py_ssize_t j = 0; j <= K; j++) {
        double wq = w[k + j] - Q[k + j];
        running = dmin(running, wq);
        double v = sqrt(dmax(Q[k + j] + running, 0.0));
        if (j == K - 1)
            carry = running + Q[k + K];
        if (j > 0) {
            Py_ssize_t i = k + j - 1;
            double v0 = v_prev, v1 = v, L = len[i], a = acc[i], vn = vnom[i];
            double vp = sqrt(dmin(vn * vn, (2 * a * L + v0 * v0 + v1 * v1) / 2));
            vp = dmax(vp, dmax(v0, v1));
            double d_ramp = (2 * (vp * vp) - v0 * v0 - v1 * v1) / (2 * a);
            double cruise = vp > 0 ? dmax(L - d_ramp, 0.0) / vp : 0.0;
            tsum[cat[i]] += (2 * vp - v0 - v1) / a + cruise;
            dsum[cat[i]] += L;
        }
        v_prev = v;
    }
    Py_END_ALLOW_THREADS
    PyMem_Free(mem);
    for (int i = 0; i < 10; i++)
        PyBuffer_Release(&b[i]);
    return Py_BuildValue("d(dddd)(dddd)", carry, tsum[0], tsum[1], tsum[2], tsum[3], dsum[0], dsum[1], dsum[2],
                         dsum[3]);
}

/* ---------------------------------------------------------------- mark_bounds */

/* (count, x min, y min, x max, y max) over the rows where mask is set, both ends of each */
PyObject *mark_bounds(PyObject *self, PyObject *args)
{
    PyObject *o[5];
    if (!PyArg_ParseTuple(args, "OOOOO", &o[0], &o[1], &o[2], &o[3], &o[4]))
        return NULL;
    Py_buffer b[5];
    static const Py_ssize_t size[5] = {8, 8, 8, 8, 1};
    static const char *names[5] = {"x0", "y0", "x1", "y1", "mask"};
    Py_ssize_t n = -1;
    for (int i = 0; i < 5; i++) {
        if (get(o[i], &b[i], size[i], 0, n, names[i]) < 0) {
            while (i--)
                PyBuffer_Release(&b[i]);
            return NULL;
        }
        n = b[i].len / size[i];
    }
    const double *x0 = b[0].buf, *y0 = b[1].buf, *x1 = b[2].buf, *y1 = b[3].buf;
    const uint8_t *mask = b[4].buf;
    double lo_x = INFINITY, lo_y = INFINITY, hi_x = -INFINITY, hi_y = -INFINITY;
    Py_ssize_t count = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!mask[i])
            continue;
        count++;
        lo_x = dmin(lo_x, dmin(x0[i], x1[i]));
        hi_x = dmax(hi_x, dmax(x0[i], x1[i]));
        lo_y = dmin(lo_y, dmin(y0[i], y1[i]));
        hi_y = dmax(hi_y, dmax(y0[i], y1[i]));
    }
    Py_END_ALLOW_THREADS
    for (int i = 0; i < 5; i++)
        PyBuffer_Release(&b[i]);
    return Py_BuildValue("n(dddd)", count, lo_x, lo_y, hi_x, hi_y);
}
