/* Local search on an open path: 2-opt and Or-opt with neighbour lists and don't-look bits
 * (ordering.improve_path). */
#include "kernels.h"

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

PyObject *improve_path(PyObject *self, PyObject *args)
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
