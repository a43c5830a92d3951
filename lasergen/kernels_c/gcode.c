/* G-code text: the formatter (emit.format_rows_numpy's twin) and the dialect scanner
 * (fastread's regex, number parser, modal forward fill and armed-line context checks). */
#include "kernels.h"

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

/* Digit tables, the numpy formatter's own approach (emit._digits_table, _fraction_table):
 * 0..9999 as text, and each fraction of 1-4 decimals as '.ddd' with trailing zeros (and a bare
 * point) dropped; built once, 4 or 5 bytes copied per part instead of a division per digit. */
#define TABLE 10000
static char int_text[TABLE][4], frac_text[5][TABLE][5];
static uint8_t int_len[TABLE], frac_len[5][TABLE];
static int tables_built = 0;

static void build_tables(void)
{
    for (int v = 0; v < TABLE; v++) {
        char *end = put_uint(int_text[v], v);
        int_len[v] = (uint8_t)(end - int_text[v]);
    }
    for (int d = 1; d <= 4; d++) {
        int scale = 1;
        for (int k = 0; k < d; k++)
            scale *= 10;
        for (int v = 0; v < scale; v++) {
            char digits[4];
            int frac = v, keep = d;
            for (int k = d - 1; k >= 0; k--) {
                digits[k] = (char)('0' + frac % 10);
                frac /= 10;
            }
            while (keep > 0 && digits[keep - 1] == '0')
                keep--;
            frac_text[d][v][0] = '.';
            memcpy(frac_text[d][v] + 1, digits, keep);
            frac_len[d][v] = (uint8_t)(keep ? keep + 1 : 0);
        }
    }
    tables_built = 1;
}

/* emit.number_columns: sign if negative and non-zero after rounding, integer part, then the
 * fraction with trailing zeros (and a bare point) dropped. Writes up to 5 bytes past the text
 * it returns the end of (the scratch buffer's per-row bound leaves room). */
static inline char *put_fixed(char *p, int negative, int64_t scaled, int decimals, int64_t scale)
{
    if (negative && scaled > 0)
        *p++ = '-';
    int64_t whole = scaled / scale, frac = scaled % scale;
    if (whole < TABLE) {
        memcpy(p, int_text[whole], 4);
        p += int_len[whole];
    } else {
        p = put_uint(p, whole);
    }
    memcpy(p, frac_text[decimals][frac], 5);
    return p + frac_len[decimals][frac];
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

enum { Z_NONE = 0, Z_AFTER = 1, Z_ONLY = 2 }; /* emit.z_words */

PyObject *format_rows(PyObject *self, PyObject *args)
{
    PyObject *o[12];
    const char *dot_on;
    Py_ssize_t dot_len;
    if (!PyArg_ParseTuple(args, "OOOOOOOOOOOOs#", &o[0], &o[1], &o[2], &o[3], &o[4], &o[5], &o[6], &o[7], &o[8],
                          &o[9], &o[10], &o[11], &dot_on, &dot_len))
        return NULL;
    Py_buffer b[12];
    static const Py_ssize_t size[12] = {1, 8, 8, 4, 4, 4, 1, 1, 1, 4, 1, 1};
    static const char *names[12] = {"kind", "x1", "y1", "f_word", "s_word", "p_word", "need_y", "need_f", "inline",
                                    "z1", "z_mode", "form"};
    Py_ssize_t n = -1;
    for (int i = 0; i < 12; i++) {
        if (get(o[i], &b[i], size[i], 0, n, names[i]) < 0) {
            while (i--)
                PyBuffer_Release(&b[i]);
            return NULL;
        }
        n = b[i].len / size[i];
    }
    const uint8_t *kind = b[0].buf, *need_y = b[6].buf, *need_f = b[7].buf, *inl = b[8].buf, *z_mode = b[10].buf;
    const uint8_t *form = b[11].buf; /* emit.arm's bits: BARE 1, ARMING 2, DISARM 4 */
    const double *x1 = b[1].buf, *y1 = b[2].buf;
    const float *f_word = b[3].buf, *s_word = b[4].buf, *p_word = b[5].buf; /* F in mm/min, S, P in s */
    const float *z1 = b[9].buf;
    /* formatted into a scratch buffer kept between calls (no fresh pages per chunk), then copied
     * once into a bytes object of the exact size; 144 bytes bound a LINE row of 25-digit numbers */
    static char *scratch = NULL;
    static size_t scratch_size = 0;
    size_t need = (size_t)n * (144 + (size_t)dot_len) + 1;
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
        if (!tables_built)
            build_tables();
        char *start = scratch, *p = start;
        /* the GIL stays held: the scratch buffer is shared */
        for (Py_ssize_t i = 0; i < n; i++) {
            if (kind[i] == RAPID && z_mode[i] == Z_ONLY) {
                p = put_f32(put_text(p, "G0Z"), z1[i], 4, 10000);
            } else if (kind[i] == RAPID) {
                p = put_f64(put_text(p, "G0X"), x1[i], 4, 10000);
                if (!inl[i])
                    p = put_f64(put_text(p, "Y"), y1[i], 4, 10000);
                if (z_mode[i])
                    p = put_f32(put_text(p, "Z"), z1[i], 4, 10000);
            } else if (kind[i] == LINE && form[i]) { /* an armed pass: Y and F each where needed */
                if (form[i] & 4)
                    p = put_text(p, "G0\n");
                p = put_f64(put_text(p, (form[i] & 1) ? "X" : "G1X"), x1[i], 4, 10000);
                if (need_y[i])
                    p = put_f64(put_text(p, "Y"), y1[i], 4, 10000);
                if (z_mode[i])
                    p = put_f32(put_text(p, "Z"), z1[i], 4, 10000);
                if (need_f[i])
                    p = put_f32(put_text(p, "F"), f_word[i], 2, 100);
                p = put_f32(put_text(p, "S"), s_word[i], 1, 10);
            } else if (kind[i] == LINE) {
                int full = need_y[i] || need_f[i];
                p = put_f64(put_text(p, "G1X"), x1[i], 4, 10000);
                if (full)
                    p = put_f64(put_text(p, "Y"), y1[i], 4, 10000);
                if (z_mode[i])
                    p = put_f32(put_text(p, "Z"), z1[i], 4, 10000);
                if (full)
                    p = put_f32(put_text(p, "F"), f_word[i], 2, 100);
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
    for (int i = 0; i < 12; i++)
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

enum { K_NONE = 0, K_RAPID = 1, K_MOVE = 2, K_DOT_ON = 3, K_DWELL = 4, K_OFF = 5, K_ON = 6, K_MARK = 7, K_MODE = 8 };
enum { K_ON_M4 = 16 }; /* scan_line's answer for M4S0: stored as K_ON, the spindle state set to M4 */
enum { W_X, W_Y, W_F, W_S, W_P, W_Z };

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
    if (starts(p, end, "G1X") || (p < end && *p == 'X')) { /* a G1X line, or a bare mark (G1 by mode) */
        int bare = *p == 'X';
        p += bare ? 0 : 2;
        WORD('X', W_X, 1);
        OPTIONAL('Y', W_Y, 1);
        OPTIONAL('Z', W_Z, 1);
        OPTIONAL('F', W_F, 0);
        WORD('S', W_S, 0);
        return p == end ? (bare ? K_MARK : K_MOVE) : -1;
    }
    if (starts(p, end, "G0X")) {
        p += 2;
        WORD('X', W_X, 1);
        OPTIONAL('Y', W_Y, 1);
        OPTIONAL('Z', W_Z, 1);
        return p == end ? K_RAPID : -1;
    }
    if (starts(p, end, "G0Z")) {
        p += 2;
        WORD('Z', W_Z, 1);
        return p == end ? K_RAPID : -1;
    }
    if (end - p == 2 && starts(p, end, "G0"))
        return K_MODE;
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
    if (end - p == 4 && (starts(p, end, "M3S0") || starts(p, end, "M4S0"))) {
        w[W_S * n + i] = 0.0;
        return p[1] == '4' ? K_ON_M4 : K_ON;
    }
    if (end - p == 9 && starts(p, end, "G21G90G94"))
        return K_NONE;
    return -1;
#undef WORD
#undef OPTIONAL
}

enum { M_X, M_Y, M_Z, M_FEED, M_S, M_ON }; /* the modal state carried per line (fastread._modal) */
#define M3_ON 1.0 /* M_ON's values (fastread.M3_ON, M4_ON); 0 = M5 */
#define M4_ON 2.0

/* GRBL's modal state after line i (kind k as scan_line answered, its words in w) from the
 * state before it: X Y Z on a move (a bare mark is one), F and S where written, the spindle
 * by M3 / M4 / M5 */
static void carry(double *m, const double *w, Py_ssize_t n, Py_ssize_t i, int k, double *state)
{
    static const int word_of[3] = {W_X, W_Y, W_Z};
    if (k == K_RAPID || k == K_MOVE || k == K_MARK)
        for (int a = 0; a < 3; a++)
            if (!isnan(w[word_of[a] * n + i]))
                state[M_X + a] = w[word_of[a] * n + i];
    if (!isnan(w[W_F * n + i]))
        state[M_FEED] = w[W_F * n + i];
    if (!isnan(w[W_S * n + i]))
        state[M_S] = w[W_S * n + i];
    if (k == K_ON || k == K_DOT_ON)
        state[M_ON] = M3_ON;
    else if (k == K_ON_M4)
        state[M_ON] = M4_ON;
    else if (k == K_OFF)
        state[M_ON] = 0.0;
    for (int j = 0; j < 6; j++)
        m[j * n + i] = state[j];
}

/* scan_lines(data, kind, comment, words, modal, initial): per line its kind, comment flag and
 * words (NaN where absent, as given), and in modal (6 x n) the state after it from `initial`
 * (x, y, z, feed, s, on); False if the text is not the dialect: outside the grammar, a dot
 * not whole, a bare mark not right after a G1X line, a bare G0 while M4 is not in force */
PyObject *scan_lines(PyObject *self, PyObject *args)
{
    PyObject *o_data, *o_kind, *o_comment, *o_words, *o_modal;
    double state[6];
    if (!PyArg_ParseTuple(args, "OOOOO(dddddd)", &o_data, &o_kind, &o_comment, &o_words, &o_modal, &state[0],
                          &state[1], &state[2], &state[3], &state[4], &state[5]))
        return NULL;
    Py_buffer data, kb, cb, wb, mb;
    if (get(o_data, &data, 1, 0, -1, "data") < 0)
        return NULL;
    if (get(o_kind, &kb, 1, 1, -1, "kind") < 0) {
        PyBuffer_Release(&data);
        return NULL;
    }
    Py_ssize_t n = kb.len;
    if (get(o_comment, &cb, 1, 1, n, "comment") < 0 || (get(o_words, &wb, 8, 1, 6 * n, "words") < 0 && (PyBuffer_Release(&cb), 1))
        || (get(o_modal, &mb, 8, 1, 6 * n, "modal") < 0 && (PyBuffer_Release(&cb), PyBuffer_Release(&wb), 1))) {
        PyBuffer_Release(&data);
        PyBuffer_Release(&kb);
        return NULL;
    }
    double *m = mb.buf;
    const char *p = data.buf, *end = p + data.len;
    int8_t *kind = kb.buf;
    uint8_t *comment = cb.buf;
    double *w = wb.buf;
    int ok = data.len > 0 ? end[-1] == '\n' : 1;
    Py_ssize_t i = 0, in_dot = 0; /* lines of a dot unit still expected: G4P.., then M5 */
    int before = K_NONE;          /* the previous line's kind */
    Py_BEGIN_ALLOW_THREADS
    while (ok && p < end) {
        const char *eol = memchr(p, '\n', end - p);
        if (i >= n) {
            ok = 0;
            break;
        }
        int k = scan_line(p, eol, w, n, i, comment);
        if (k < 0 || (in_dot == 2 && k != K_DWELL) || (in_dot == 1 && k != K_OFF) || (!in_dot && k == K_DWELL)
            || (k == K_MARK && before != K_MOVE) || (k == K_MODE && state[M_ON] != M4_ON)) {
            ok = 0;
            break;
        }
        in_dot = k == K_DOT_ON ? 2 : in_dot ? in_dot - 1 : 0;
        carry(m, w, n, i, k, state);
        before = k == K_ON_M4 ? K_ON : k;
        kind[i++] = (int8_t)before;
        p = eol + 1;
    }
    Py_END_ALLOW_THREADS
    ok = ok && i == n && !in_dot;
    PyBuffer_Release(&data);
    PyBuffer_Release(&kb);
    PyBuffer_Release(&cb);
    PyBuffer_Release(&wb);
    PyBuffer_Release(&mb);
    return PyBool_FromLong(ok);
}
