/* Compiled kernels of lasergen, each the twin of a numpy reference (lasergen/kernels.py says
 * which) and tested byte- or bit-identical to it; built by the normal install, optional (no
 * compiler: the numpy references run). Arrays come through the buffer protocol, so no numpy
 * headers are needed at build time. Floating point follows the references operation by
 * operation: float32 where numpy computes in float32 (NEP 50), no FMA contraction.
 *
 *   format_rows   toolpath rows (with their F, S and P words computed by numpy) -> G-code
 *                 lines in lasergen's GRBL dialect (emit.py)
 *   scan_lines    lasergen's dialect -> per line: kind, comment flag, X Y F S P words
 *                 (fastread.py's grammar and number parsing)
 *   plan_totals   one planning window of GRBL's planner model and its per-category time and
 *                 distance sums (motion._plan_window, trapezoid_times, estimate's bincounts)
 *   mark_bounds   count and bounding box of the marks (Toolpath.mark_bounds_mm)
 *   improve_path  2-opt and Or-opt of an open path from a fixed start, with neighbour lists
 *                 and don't-look bits (ordering.py)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static int get(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, int writable, Py_ssize_t n, const char *name)
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

/* ---------------------------------------------------------------- format_rows */

enum { RAPID = 0, LINE = 1, DWELL = 2 };

static char *put_uint(char *p, int64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* emit.number_columns: sign if negative and non-zero after rounding, integer part, then the
 * fraction with trailing zeros (and a bare point) dropped */
static char *put_fixed(char *p, int negative, int64_t scaled, int decimals, int64_t scale)
{
    if (negative && scaled > 0)
        *p++ = '-';
    p = put_uint(p, scaled / scale);
    int64_t frac = scaled % scale;
    if (frac) {
        char d[8];
        for (int k = decimals - 1; k >= 0; k--) {
            d[k] = (char)('0' + frac % 10);
            frac /= 10;
        }
        int keep = decimals;
        while (keep > 0 && d[keep - 1] == '0')
            keep--;
        *p++ = '.';
        memcpy(p, d, keep);
        p += keep;
    }
    return p;
}

static char *put_f64(char *p, double v, int decimals, int64_t scale)
{
    return put_fixed(p, v < 0, (int64_t)rint(fabs(v) * (double)scale), decimals, scale);
}

static char *put_f32(char *p, float v, int decimals, int64_t scale)
{
    return put_fixed(p, v < 0, (int64_t)rintf(fabsf(v) * (float)scale), decimals, scale);
}

static char *put_text(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

static PyObject *format_rows(PyObject *self, PyObject *args)
{
    PyObject *o[9];
    const char *dot_on;
    Py_ssize_t dot_len;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOs#", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8],
                          &dot_on, &dot_len))
        return NULL;
    Py_buffer b[9];
    static const Py_ssize_t size[9] = {1, 8, 8, 4, 4, 4, 1, 1, 1};
    static const char *names[9] = {"kind", "x1", "y1", "f_word", "s_word", "p_word", "need_y", "need_f", "inline"};
    Py_ssize_t n = -1;
    for (int i = 0; i < 9; i++) {
        if (get(o[i], &b[i], size[i], 0, n, names[i]) < 0) {
            while (i--)
                PyBuffer_Release(&b[i]);
            return NULL;
        }
        n = b[i].len / size[i];
    }
    const uint8_t *kind = b[0].buf, *need_y = b[6].buf, *need_f = b[7].buf, *inl = b[8].buf;
    const double *x1 = b[1].buf, *y1 = b[2].buf;
    const float *f_word = b[3].buf, *s_word = b[4].buf, *p_word = b[5].buf; /* F in mm/min, S, P in s */
    /* formatted into a scratch buffer kept between calls (no fresh pages per chunk), then copied
     * once into a bytes object of the exact size; 112 bytes bound a LINE row of 25-digit numbers */
    static char *scratch = NULL;
    static size_t scratch_size = 0;
    size_t need = (size_t)n * (112 + (size_t)dot_len) + 1;
    PyObject *out = NULL;
    if (need > scratch_size) {
        char *grown = PyMem_RawRealloc(scratch, need);
        if (grown) {
            scratch = grown;
            scratch_size = need;
        }
    }
    if (need > scratch_size) {
        PyErr_NoMemory();
    } else {
        char *start = scratch, *p = start;
        /* the GIL stays held: the scratch buffer is shared */
        for (Py_ssize_t i = 0; i < n; i++) {
            if (kind[i] == RAPID) {
                p = put_f64(put_text(p, "G0X"), x1[i], 4, 10000);
                if (!inl[i])
                    p = put_f64(put_text(p, "Y"), y1[i], 4, 10000);
            } else if (kind[i] == LINE) {
                p = put_f64(put_text(p, "G1X"), x1[i], 4, 10000);
                if (need_y[i] || need_f[i]) {
                    p = put_f64(put_text(p, "Y"), y1[i], 4, 10000);
                    p = put_f32(put_text(p, "F"), f_word[i], 2, 100);
                }
                p = put_f32(put_text(p, "S"), s_word[i], 1, 10);
            } else {
                memcpy(p, dot_on, dot_len);
                p = put_f32(p + dot_len, s_word[i], 1, 10);
                p = put_f32(put_text(p, "\nG4P"), p_word[i], 3, 1000);
                p = put_text(p, "\nM5");
            }
            *p++ = '\n';
        }
        out = PyBytes_FromStringAndSize(start, p - start);
    }
    for (int i = 0; i < 9; i++)
        PyBuffer_Release(&b[i]);
    return out;
}

/* ---------------------------------------------------------------- scan_lines */

static const double POW10[7] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};

/* -?\d{1,7}(\.\d{1,6})? (the sign only if allowed); NULL if the text does not match */
static const char *number(const char *p, const char *end, int signed_ok, double *value)
{
    int negative = 0, digits = 0, frac = 0;
    int64_t mantissa = 0;
    if (signed_ok && p < end && *p == '-') {
        negative = 1;
        p++;
    }
    while (p < end && *p >= '0' && *p <= '9' && digits < 8) {
        mantissa = mantissa * 10 + (*p++ - '0');
        digits++;
    }
    if (digits < 1 || digits > 7)
        return NULL;
    if (p < end && *p == '.') {
        p++;
        while (p < end && *p >= '0' && *p <= '9' && frac < 7) {
            mantissa = mantissa * 10 + (*p++ - '0');
            frac++;
        }
        if (frac < 1 || frac > 6)
            return NULL;
    }
    double v = (double)mantissa / POW10[frac];
    *value = negative ? -v : v;
    return p;
}

static int starts(const char *p, const char *end, const char *word)
{
    size_t n = strlen(word);
    return (size_t)(end - p) >= n && memcmp(p, word, n) == 0;
}

enum { K_NONE = 0, K_RAPID = 1, K_MOVE = 2, K_DOT_ON = 3, K_DWELL = 4, K_OFF = 5, K_ON = 6 };
enum { W_X, W_Y, W_F, W_S, W_P };

/* One line (without its newline) of the dialect; returns its kind or -1. */
static int scan_line(const char *p, const char *end, double *w, Py_ssize_t n, Py_ssize_t i, uint8_t *comment)
{
#define WORD(letter, slot, signed_ok)                                        \
    do {                                                                     \
        if (p >= end || *p != (letter))                                      \
            return -1;                                                       \
        if (!(p = number(p + 1, end, signed_ok, &w[(slot) * n + i])))        \
            return -1;                                                       \
    } while (0)
#define OPTIONAL(letter, slot, signed_ok)                                    \
    do {                                                                     \
        if (p < end && *p == (letter))                                       \
            WORD(letter, slot, signed_ok);                                   \
    } while (0)
    if (p < end && *p == ';') {
        comment[i] = 1;
        for (; p < end; p++)
            if ((unsigned char)*p >= 0x80)
                return -1;
        return K_NONE;
    }
    if (starts(p, end, "G1X")) {
        p += 2;
        WORD('X', W_X, 1);
        OPTIONAL('Y', W_Y, 1);
        OPTIONAL('F', W_F, 0);
        WORD('S', W_S, 0);
        return p == end ? K_MOVE : -1;
    }
    if (starts(p, end, "G0X")) {
        p += 2;
        WORD('X', W_X, 1);
        OPTIONAL('Y', W_Y, 1);
        return p == end ? K_RAPID : -1;
    }
    if (starts(p, end, "G1F")) {
        p += 2;
        WORD('F', W_F, 0);
        if (!starts(p, end, "M3S"))
            return -1;
        p += 2;
        WORD('S', W_S, 0);
        return p == end ? K_DOT_ON : -1;
    }
    if (starts(p, end, "G4P")) {
        p += 2;
        WORD('P', W_P, 0);
        return p == end ? K_DWELL : -1;
    }
    if (end - p == 2 && starts(p, end, "M5"))
        return K_OFF;
    if (end - p == 4 && starts(p, end, "M3S0")) {
        w[W_S * n + i] = 0.0;
        return K_ON;
    }
    if (end - p == 9 && starts(p, end, "G21G90G94"))
        return K_NONE;
    return -1;
#undef WORD
#undef OPTIONAL
}

static PyObject *scan_lines(PyObject *self, PyObject *args)
{
    PyObject *o_data, *o_kind, *o_comment, *o_words;
    if (!PyArg_ParseTuple(args, "OOOO", &o_data, &o_kind, &o_comment, &o_words))
        return NULL;
    Py_buffer data, kb, cb, wb;
    if (get(o_data, &data, 1, 0, -1, "data") < 0)
        return NULL;
    if (get(o_kind, &kb, 1, 1, -1, "kind") < 0) {
        PyBuffer_Release(&data);
        return NULL;
    }
    Py_ssize_t n = kb.len;
    if (get(o_comment, &cb, 1, 1, n, "comment") < 0 || (get(o_words, &wb, 8, 1, 5 * n, "words") < 0 && (PyBuffer_Release(&cb), 1))) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&kb);
        return NULL;
    }
    const char *p = data.buf, *end = p + data.len;
    int8_t *kind = kb.buf;
    uint8_t *comment = cb.buf;
    double *w = wb.buf;
    int ok = data.len > 0 ? end[-1] == '\n' : 1;
    Py_ssize_t i = 0, in_dot = 0; /* lines of a dot unit still expected: G4P.., then M5 */
    Py_BEGIN_ALLOW_THREADS
    while (ok && p < end) {
        const char *eol = memchr(p, '\n', end - p);
        if (i >= n) {
            ok = 0;
            break;
        }
        int k = scan_line(p, eol, w, n, i, comment);
        if (k < 0 || (in_dot == 2 && k != K_DWELL) || (in_dot == 1 && k != K_OFF) || (!in_dot && k == K_DWELL)) {
            ok = 0;
            break;
        }
        in_dot = k == K_DOT_ON ? 2 : in_dot ? in_dot - 1 : 0;
        kind[i++] = (int8_t)k;
        p = eol + 1;
    }
    Py_END_ALLOW_THREADS
    ok = ok && i == n && !in_dot;
    PyBuffer_Release(&data);
    PyBuffer_Release(&kb);
    PyBuffer_Release(&cb);
    PyBuffer_Release(&wb);
    return PyBool_FromLong(ok);
}

/* ---------------------------------------------------------------- improve_path */

typedef struct {
    const double *xy; /* n + 1 points: the path's nodes, then its fixed start */
    int64_t *path;    /* positions 0..n: path[0] = n (the start), then the nodes */
    int64_t *pos;     /* node -> position */
    int64_t n;        /* nodes (the start excluded) */
} tour_t;

static double dist(const tour_t *t, int64_t a, int64_t b)
{
    double dx = t->xy[2 * a] - t->xy[2 * b], dy = t->xy[2 * a + 1] - t->xy[2 * b + 1];
    return sqrt(dx * dx + dy * dy);
}

/* node at position i, or -1 past either end */
static int64_t at(const tour_t *t, int64_t i) { return i < 0 || i > t->n ? -1 : t->path[i]; }
static double d_or0(const tour_t *t, int64_t a, int64_t b) { return a < 0 || b < 0 ? 0.0 : dist(t, a, b); }

static void reverse(tour_t *t, int64_t i, int64_t j)
{
    for (; i < j; i++, j--) {
        int64_t a = t->path[i], b = t->path[j];
        t->path[i] = b;
        t->path[j] = a;
        t->pos[b] = i;
        t->pos[a] = j;
    }
}

typedef struct {
    int64_t *items;
    uint8_t *queued;
    int64_t head, count, cap;
} queue_t;

static void push(queue_t *q, int64_t node)
{
    if (node < 0 || node >= q->cap || q->queued[node]) /* the fixed start is never queued */
        return;
    q->queued[node] = 1;
    q->items[(q->head + q->count++) % q->cap] = node;
}

/* The best 2-opt move that makes an edge from node a (position i) to a neighbour; applied if it
 * gains. Either a's outgoing edge (a, next) or incoming edge (prev, a) is replaced. */
static int two_opt(tour_t *t, queue_t *q, int64_t a, const int64_t *near, int64_t k)
{
    const double eps = 1e-10;
    int64_t i = t->pos[a], best_i = 0, best_j = 0;
    double best = eps;
    for (int side = 0; side < 2; side++) {
        int64_t b = side ? at(t, i - 1) : at(t, i + 1);
        if (b < 0 || (side && i - 1 < 0))
            continue;
        double d_ab = dist(t, a, b);
        for (int64_t m = 0; m < k; m++) {
            int64_t c = near[m];
            if (c < 0)
                break;
            if (c == a)
                continue; /* a duplicate point can list itself */
            double d_ac = dist(t, a, c);
            if (d_ac >= d_ab)
                break; /* neighbours are sorted: no later one can gain */
            int64_t j = t->pos[c];
            if (!side) { /* new edges (a, c) and (next a, next c): reverse i+1..j or j+1..i */
                if (j == i + 1)
                    continue;
                int64_t e = at(t, j + 1);
                double gain = d_ab + d_or0(t, c, e) - d_ac - d_or0(t, b, e);
                if (gain > best) {
                    best = gain;
                    best_i = j > i ? i + 1 : j + 1;
                    best_j = j > i ? j : i;
                }
            } else { /* new edges (c, a) and (prev c, prev a): reverse j..i-1 or i..j-1 */
                if (j == i - 1 || j < 1)
                    continue;
                int64_t e = at(t, j - 1);
                if (j < i && j - 1 < 0)
                    continue;
                double gain = d_ab + d_or0(t, e, c) - d_ac - d_or0(t, b, e);
                if (gain > best) {
                    best = gain;
                    best_i = j < i ? j : i;
                    best_j = j < i ? i - 1 : j - 1;
                }
            }
        }
    }
    if (best <= eps)
        return 0;
    push(q, at(t, best_i - 1));
    push(q, at(t, best_i));
    push(q, at(t, best_j));
    push(q, at(t, best_j + 1));
    reverse(t, best_i, best_j);
    return 1;
}

/* Or-opt: move the segment of 1..3 nodes that starts at a (positions i..i+L-1) between a
 * neighbour c of its ends and c's successor, either way round. */
static int or_opt(tour_t *t, queue_t *q, int64_t a, const int64_t *near_all, int64_t k)
{
    const double eps = 1e-10;
    int64_t i = t->pos[a];
    if (i < 1)
        return 0;
    for (int64_t len = 1; len <= 3 && i + len - 1 <= t->n; len++) {
        int64_t s0 = t->path[i], s1 = t->path[i + len - 1], p = at(t, i - 1), nx = at(t, i + len);
        double removed = dist(t, p, s0) + d_or0(t, s1, nx) - d_or0(t, p, nx);
        if (removed <= eps)
            continue;
        double best = eps;
        int64_t best_j = -1, best_flip = 0;
        for (int end = 0; end < 2; end++) {
            const int64_t *near = near_all + (end ? s1 : s0) * k;
            for (int64_t m = 0; m < k && near[m] >= 0; m++) {
                int64_t c = near[m], j = t->pos[c];
                if (j >= i - 1 && j <= i + len - 1)
                    continue; /* inside the segment, or where it already is */
                int64_t e = at(t, j + 1);
                double keep = d_or0(t, c, e);
                double fwd = dist(t, c, s0) + d_or0(t, s1, e), rev = dist(t, c, s1) + d_or0(t, s0, e);
                double gain = removed - (fwd < rev ? fwd : rev) + keep;
                if (gain > best) {
                    best = gain;
                    best_j = j;
                    best_flip = rev < fwd;
                }
            }
        }
        if (best_j < 0)
            continue;
        int64_t c = t->path[best_j], e = at(t, best_j + 1);
        /* rotate so the segment follows position best_j: [seg][mid] -> [mid][seg] or the reverse */
        int64_t lo, hi;
        if (best_j > i) {
            lo = i, hi = best_j;
            reverse(t, lo, lo + len - 1);
            reverse(t, lo + len, hi);
            reverse(t, lo, hi);
            if (best_flip)
                reverse(t, hi - len + 1, hi);
        } else {
            lo = best_j + 1, hi = i + len - 1;
            reverse(t, lo, i - 1);
            reverse(t, i, hi);
            reverse(t, lo, hi);
            if (best_flip)
                reverse(t, lo, lo + len - 1);
        }
        push(q, p);
        push(q, nx);
        push(q, s0);
        push(q, s1);
        push(q, c);
        push(q, e);
        return 1;
    }
    return 0;
}

static PyObject *improve_path(PyObject *self, PyObject *args)
{
    PyObject *o_xy, *o_order, *o_near;
    long long max_moves;
    if (!PyArg_ParseTuple(args, "OOOL", &o_xy, &o_order, &o_near, &max_moves))
        return NULL;
    Py_buffer xb, ob, nb;
    if (get(o_order, &ob, 8, 1, -1, "order") < 0)
        return NULL;
    int64_t n = ob.len / 8;
    if (get(o_xy, &xb, 8, 0, 2 * (n + 1), "xy") < 0) {
        PyBuffer_Release(&ob);
        return NULL;
    }
    if (get(o_near, &nb, 8, 0, -1, "near") < 0 || (n && nb.len % (8 * n))) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "near: expected n rows");
        else
            goto fail_near;
        PyBuffer_Release(&nb);
    fail_near:
        PyBuffer_Release(&xb);
        PyBuffer_Release(&ob);
        return NULL;
    }
    int64_t k = n ? nb.len / 8 / n : 0, moves = 0;
    int64_t *order = ob.buf;
    int64_t *path = PyMem_Malloc(sizeof(int64_t) * (n + 1)), *pos = PyMem_Malloc(sizeof(int64_t) * (n + 1));
    int64_t *items = PyMem_Malloc(sizeof(int64_t) * (n + 1));
    uint8_t *queued = PyMem_Calloc(n + 1, 1);
    if (!path || !pos || !items || !queued) {
        PyMem_Free(path), PyMem_Free(pos), PyMem_Free(items), PyMem_Free(queued);
        PyBuffer_Release(&xb), PyBuffer_Release(&ob), PyBuffer_Release(&nb);
        return PyErr_NoMemory();
    }
    tour_t t = {xb.buf, path, pos, n};
    queue_t q = {items, queued, 0, 0, n};
    path[0] = n;
    pos[n] = 0;
    for (int64_t i = 0; i < n; i++) {
        path[i + 1] = order[i];
        pos[order[i]] = i + 1;
    }
    Py_BEGIN_ALLOW_THREADS
    for (int64_t i = 0; i < n; i++)
        push(&q, order[i]);
    while (q.count && moves < max_moves) {
        int64_t a = q.items[q.head];
        q.head = (q.head + 1) % q.cap;
        q.count--;
        q.queued[a] = 0;
        const int64_t *near = (const int64_t *)nb.buf + a * k;
        if (two_opt(&t, &q, a, near, k) || or_opt(&t, &q, a, nb.buf, k)) {
            moves++;
            push(&q, a);
        }
    }
    for (int64_t i = 0; i < n; i++)
        order[i] = path[i + 1];
    Py_END_ALLOW_THREADS
    PyMem_Free(path), PyMem_Free(pos), PyMem_Free(items), PyMem_Free(queued);
    PyBuffer_Release(&xb), PyBuffer_Release(&ob), PyBuffer_Release(&nb);
    return PyLong_FromLongLong(moves);
}

/* ---------------------------------------------------------------- plan_totals */

static double axis_limited(double ux, double uy, double inv0, double inv1)
{
    double a = fabs(ux) * inv0, b = fabs(uy) * inv1;
    return 1.0 / (a > b ? a : b); /* np.maximum: no NaN here (blocks have length) */
}

static double dmin(double a, double b) { return a < b ? a : b; }
static double dmax(double a, double b) { return a > b ? a : b; }

/* motion._plan_window followed by trapezoid_times and the per-category sums of estimate */
static PyObject *plan_totals(PyObject *self, PyObject *args)
{
    PyObject *o[8];
    Py_ssize_t k, K;
    int at_end;
    double carry, rate0, rate1, acc0, acc1, deviation;
    Py_ssize_t horizon;
    if (!PyArg_ParseTuple(args, "OOOOOOOOnnpddddddn", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &k,
                          &K, &at_end, &carry, &rate0, &rate1, &acc0, &acc1, &deviation, &horizon))
        return NULL;
    Py_buffer b[8];
    static const Py_ssize_t size[8] = {8, 8, 8, 8, 1, 4, 1, 1};
    static const char *names[8] = {"x0", "y0", "x1", "y1", "kind", "speed", "sync", "category"};
    Py_ssize_t m = -1;
    for (int i = 0; i < 8; i++) {
        if (get(o[i], &b[i], size[i], 0, m, names[i]) < 0) {
            while (i--)
                PyBuffer_Release(&b[i]);
            return NULL;
        }
        m = b[i].len / size[i];
    }
    if (k < 0 || K < 1 || k + K > m) {
        for (int i = 0; i < 8; i++)
            PyBuffer_Release(&b[i]);
        PyErr_SetString(PyExc_ValueError, "plan_totals: blocks k..k+K outside the window");
        return NULL;
    }
    const double *x0 = b[0].buf, *y0 = b[1].buf, *x1 = b[2].buf, *y1 = b[3].buf;
    const uint8_t *kind = b[4].buf, *sync = b[6].buf, *cat = b[7].buf;
    const float *speed = b[5].buf;
    double *mem = PyMem_Malloc(sizeof(double) * (7 * (size_t)m + 3));
    if (!mem) {
        for (int i = 0; i < 8; i++)
            PyBuffer_Release(&b[i]);
        return PyErr_NoMemory();
    }
    double *len = mem, *ux = len + m, *uy = ux + m, *vnom = uy + m, *acc = vnom + m, *Q = acc + m, *w = Q + m + 1;
    double tsum[3] = {0, 0, 0}, dsum[3] = {0, 0, 0};
    Py_BEGIN_ALLOW_THREADS
    const double ir0 = 1.0 / rate0, ir1 = 1.0 / rate1, ia0 = 1.0 / acc0, ia1 = 1.0 / acc1;
    for (Py_ssize_t i = 0; i < m; i++) {
        double dx = x1[i] - x0[i], dy = y1[i] - y0[i];
        len[i] = sqrt(dx * dx + dy * dy);
        ux[i] = dx / len[i];
        uy[i] = dy / len[i];
        double v_rapid = axis_limited(ux[i], uy[i], ir0, ir1);
        vnom[i] = kind[i] == 0 ? v_rapid : dmin((double)speed[i], v_rapid);
        acc[i] = axis_limited(ux[i], uy[i], ia0, ia1);
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
            double cos_theta = -(ux[i] * ux[i - 1] + uy[i] * uy[i - 1]);
            double junction;
            if (cos_theta > 0.999999) {
                junction = 0.0;
            } else if (cos_theta < -0.999999) {
                junction = INFINITY;
            } else {
                double jx = ux[i] - ux[i - 1], jy = uy[i] - uy[i - 1];
                double a_j = sqrt(jx * jx + jy * jy) / dmax(fabs(jx) * ia0, fabs(jy) * ia1);
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
    for (int i = 0; i < 8; i++)
        PyBuffer_Release(&b[i]);
    return Py_BuildValue("d(ddd)(ddd)", carry, tsum[0], tsum[1], tsum[2], dsum[0], dsum[1], dsum[2]);
}

/* ---------------------------------------------------------------- mark_bounds */

/* (count, x min, y min, x max, y max) over the rows where mask is set, both ends of each */
static PyObject *mark_bounds(PyObject *self, PyObject *args)
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

static PyMethodDef methods[] = {
    {"format_rows", format_rows, METH_VARARGS, "G-code lines of toolpath rows (emit.format_rows)"},
    {"scan_lines", scan_lines, METH_VARARGS, "kinds and words of lines in lasergen's dialect (fastread)"},
    {"improve_path", improve_path, METH_VARARGS, "2-opt + Or-opt of an open path in place; returns the moves made"},
    {"mark_bounds", mark_bounds, METH_VARARGS, "count and bounds of the masked rows"},
    {"plan_totals", plan_totals, METH_VARARGS, "GRBL planner window -> (carry, time and distance per category)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", "lasergen's compiled kernels", -1, methods};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
