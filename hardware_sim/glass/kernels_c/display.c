/* The simulator's compiled render kernel: XYZ pixels -> 8-bit display pixels, pixel by pixel,
 * the twin of render.py's numpy path (render_xyz's strip loop: the XYZ -> linear sRGB product,
 * `to_display`'s hue-keeping gamut mapping, `encode`), which stays the reference and is tested
 * against it (tests/sim/test_render_kernel.py). The gamut mapping is a bisection of 8 or so
 * steps on every out-of-gamut pixel; in numpy each step is some forty array operations on a
 * strip of pixels, so behind the 645 nm filter, where nearly every lit pixel is out of gamut,
 * the render cost five times an unfiltered one. Built by the normal install, optional (no
 * compiler: the numpy path runs). Arrays come through the buffer protocol; the constants
 * (matrices, white point, tone table) come from the caller, so they are written once, in
 * Python. Floating point follows the numpy path operation by operation in float32, without
 * FMA contraction (-fno-trapping-math only lets the compiler compute both sides of a select); numpy's 3 x 3 products may sum in another order (BLAS), so a pixel can
 * differ by one 8-bit level where a value sits on a rounding edge.
 */
#include "kernels.h"  /* lasergen/kernels_c: Python.h, math.h, and `get`, the buffer-protocol access */

#define LAB_EDGE ((float)(6.0 / 29.0))
#define LAB_EDGE_CUBE ((float)((6.0 / 29.0) * (6.0 / 29.0) * (6.0 / 29.0)))
#define LAB_SLOPE ((float)(1.0 / (3.0 * (6.0 / 29.0) * (6.0 / 29.0))))
#define LAB_SLOPE_INV ((float)(3.0 * (6.0 / 29.0) * (6.0 / 29.0)))
#define LAB_OFFSET ((float)(4.0 / 29.0))

typedef struct {
    float to_rgb[9];   /* XYZ -> linear sRGB, row-major */
    float to_xyz[9];   /* linear sRGB -> XYZ, row-major */
    float white[3];    /* D65 white, XYZ */
    float invisible;   /* darker than this: clipped, not mapped */
    int steps;         /* bisection steps on the chroma factor */
} Constants;

static inline float fmin2(float a, float b) { return a < b ? a : b; }
static inline float fmax2(float a, float b) { return a > b ? a : b; }

/* Cube root of t > 0 without a branch or a libm call (so a block of them vectorises): the
 * exponent divided by 3 on the bit pattern (to within 5 %), then two Halley steps, each
 * cubing the error: to about one float32 rounding, as numpy's np.cbrt. */
static inline float cube_root(float t)
{
    union { float f; uint32_t u; } v = {t};
    v.u = v.u / 3u + 0x2a5137a0u;
    float y = v.f;
    for (int i = 0; i < 2; i++) {
        float y3 = y * y * y;
        y = y * (y3 + 2.0f * t) / (2.0f * y3 + t);
    }
    return y;
}

/* CIELAB's f and f^-1 (render._lab_f, render._f_inverse), both sides computed, one kept. */
static inline float lab_f(float t)
{
    float cube = cube_root(fmax2(t, LAB_EDGE_CUBE)), line = t * LAB_SLOPE + LAB_OFFSET;
    return t > LAB_EDGE_CUBE ? cube : line;
}

static inline float lab_f_inverse(float f)
{
    float cube = f * f * f, line = LAB_SLOPE_INV * (f - LAB_OFFSET);
    return f > LAB_EDGE ? cube : line;
}

/* Linear sRGB of CIELAB with L fixed (fy, y_term) and a*, b* scaled by s (render._chroma_scaled_rgb). */
static inline void chroma_scaled(const Constants *k, float fy, float fa, float fb, float s, const float y_term[3],
                                 float rgb[3])
{
    float x = lab_f_inverse(fy + s * fa) * k->white[0];
    float z = lab_f_inverse(fy - s * fb) * k->white[2];
    for (int c = 0; c < 3; c++)
        rgb[c] = k->to_rgb[3 * c] * x + y_term[c] + k->to_rgb[3 * c + 2] * z;
}

enum { BLOCK = 64 };  /* pixels mapped together: their out-of-gamut ones are bisected side by side */

/* Linear sRGB pixels -> inside [0, 1]^3 (render.to_display), a block of m <= BLOCK at a time:
 * darken what is brighter than white, gather the visible out-of-gamut pixels, bisect their
 * chroma factors lane by lane (the same steps for every lane, selects instead of branches),
 * scatter them back, clip. */
static void to_display_block(const Constants *k, float (*rgb)[3], int m)
{
    int bad[BLOCK], nb = 0;
    for (int j = 0; j < m; j++) {
        float *p = rgb[j];
        float high = fmax2(fmax2(p[0], p[1]), p[2]), low = fmin2(fmin2(p[0], p[1]), p[2]);
        if (high > 1.0f)
            for (int c = 0; c < 3; c++)
                p[c] = p[c] / high;
        if (low < 0.0f && high > k->invisible)
            bad[nb++] = j;
    }
    if (nb) {
        float fy[BLOCK], fa[BLOCK], fb[BLOCK], yt[3][BLOCK], lo[BLOCK];
        for (int i = 0; i < BLOCK; i++) {  /* every lane: the unused ones hold grey, in gamut */
            const float *p = rgb[bad[i < nb ? i : 0]];
            float f[3];
            for (int a = 0; a < 3; a++)
                f[a] = lab_f((p[0] * k->to_xyz[3 * a] + p[1] * k->to_xyz[3 * a + 1] + p[2] * k->to_xyz[3 * a + 2])
                             / k->white[a]);
            fy[i] = f[1], fa[i] = f[0] - f[1], fb[i] = f[1] - f[2];
            float y = lab_f_inverse(fy[i]) * k->white[1];
            for (int c = 0; c < 3; c++)
                yt[c][i] = k->to_rgb[3 * c + 1] * y;
            lo[i] = 0.0f;
        }
        const float x0 = k->to_rgb[0], x1 = k->to_rgb[3], x2 = k->to_rgb[6];  /* the X and Z columns */
        const float z0 = k->to_rgb[2], z1 = k->to_rgb[5], z2 = k->to_rgb[8];
        const float xn = k->white[0], zn = k->white[2];
        /* hi - lo is 2^-step in every lane: only lo is kept, and mid = lo + 2^-(step + 1) is
         * exactly numpy's 0.5 * (lo + hi) */
        float half = 0.5f;
        for (int step = 0; step < k->steps; step++, half *= 0.5f)
            for (int i = 0; i < BLOCK; i++) {  /* chroma_scaled, spelled out so the lanes vectorise */
                float mid = lo[i] + half;
                float x = lab_f_inverse(fy[i] + mid * fa[i]) * xn, z = lab_f_inverse(fy[i] - mid * fb[i]) * zn;
                float least = fmin2(fmin2(x0 * x + yt[0][i] + z0 * z, x1 * x + yt[1][i] + z1 * z), x2 * x + yt[2][i] + z2 * z);
                lo[i] = least >= 0.0f ? mid : lo[i];
            }
        for (int i = 0; i < nb; i++) {
            float y_term[3] = {yt[0][i], yt[1][i], yt[2][i]};
            chroma_scaled(k, fy[i], fa[i], fb[i], lo[i], y_term, rgb[bad[i]]);
        }
    }
    for (int j = 0; j < m; j++)
        for (int c = 0; c < 3; c++)
            rgb[j][c] = fmin2(fmax2(rgb[j][c], 0.0f), 1.0f);
}

/* xyz_to_display(xyz, out, to_rgb, to_xyz, white, offset, invisible, steps, table)
 *   xyz     float32 (n, 3) XYZ pixels
 *   out     uint8 (n, 3), written
 *   to_rgb, to_xyz  float32 3 x 3; white, offset: float32 3 (offset: the view's background,
 *           linear sRGB, added after the product)
 *   table   uint8 tone table over [0, 1] (the sRGB curve), or None: linear tone (v * 255 + 0.5) */
static PyObject *xyz_to_display(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *xyz_obj, *out_obj, *to_rgb_obj, *to_xyz_obj, *white_obj, *offset_obj, *table_obj;
    float invisible;
    int steps;
    if (!PyArg_ParseTuple(args, "OOOOOOfiO", &xyz_obj, &out_obj, &to_rgb_obj, &to_xyz_obj, &white_obj, &offset_obj,
                          &invisible, &steps, &table_obj))
        return NULL;
    /* the buffers, in order; on a failure the ones already taken are released */
    enum { XYZ, OUT, TO_RGB, TO_XYZ, WHITE, OFFSET, TABLE, N_BUFFERS };
    PyObject *objs[N_BUFFERS] = {xyz_obj, out_obj, to_rgb_obj, to_xyz_obj, white_obj, offset_obj, table_obj};
    const char *names[N_BUFFERS] = {"xyz", "out", "to_rgb", "to_xyz", "white", "offset", "table"};
    Py_buffer b[N_BUFFERS];
    int linear = table_obj == Py_None, taken = 0;
    for (; taken < (linear ? TABLE : N_BUFFERS); taken++) {
        Py_ssize_t itemsize = (taken == OUT || taken == TABLE) ? 1 : 4;
        Py_ssize_t want = taken == XYZ || taken == TABLE ? -1 : taken == OUT ? 3 * (b[XYZ].len / 12)
                          : (taken == TO_RGB || taken == TO_XYZ) ? 9 : 3;
        if (get(objs[taken], &b[taken], itemsize, taken == OUT, want, names[taken]) < 0)
            break;
    }
    if (taken < (linear ? TABLE : N_BUFFERS) || b[XYZ].len % 12) {
        if (taken == (linear ? TABLE : N_BUFFERS))
            PyErr_SetString(PyExc_ValueError, "xyz: expected (n, 3) float32 pixels");
        while (taken-- > 0)
            PyBuffer_Release(&b[taken]);
        return NULL;
    }
    Py_ssize_t n = b[XYZ].len / 12;
    Constants k;
    memcpy(k.to_rgb, b[TO_RGB].buf, sizeof k.to_rgb);
    memcpy(k.to_xyz, b[TO_XYZ].buf, sizeof k.to_xyz);
    memcpy(k.white, b[WHITE].buf, sizeof k.white);
    k.invisible = invisible;
    k.steps = steps;
    const float *bg = (const float *)b[OFFSET].buf, *src = (const float *)b[XYZ].buf;
    uint8_t *dst = (uint8_t *)b[OUT].buf;
    const uint8_t *tone = linear ? NULL : (const uint8_t *)b[TABLE].buf;
    float levels = linear ? 0.0f : (float)(b[TABLE].len - 1);

    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i0 = 0; i0 < n; i0 += BLOCK) {
        int m = n - i0 < BLOCK ? (int)(n - i0) : BLOCK;
        float rgb[BLOCK][3];
        for (int j = 0; j < m; j++) {
            const float *p = src + 3 * (i0 + j);
            for (int c = 0; c < 3; c++)
                rgb[j][c] = p[0] * k.to_rgb[3 * c] + p[1] * k.to_rgb[3 * c + 1] + p[2] * k.to_rgb[3 * c + 2] + bg[c];
        }
        to_display_block(&k, rgb, m);
        uint8_t *d = dst + 3 * i0;
        for (int j = 0; j < m; j++)
            for (int c = 0; c < 3; c++)
                d[3 * j + c] = linear ? (uint8_t)(rgb[j][c] * 255.0f + 0.5f) : tone[(uint16_t)(rgb[j][c] * levels + 0.5f)];
    }
    Py_END_ALLOW_THREADS

    for (int i = (linear ? TABLE : N_BUFFERS) - 1; i >= 0; i--)
        PyBuffer_Release(&b[i]);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"xyz_to_display", xyz_to_display, METH_VARARGS, "XYZ pixels -> 8-bit display pixels (render.render_xyz's numpy path)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, .m_name = "_display", .m_doc = "the simulator's compiled render kernel", .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__display(void) { return PyModule_Create(&module); }
