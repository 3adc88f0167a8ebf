/* Near-duplicate detection's hot loops in C: the word 5-gram hashes of bodies, and the exact
 * Jaccard similarity of pairs of them (see `neardup_text` and `neardup_links`, whose Python
 * versions are the references these must equal; tests compare them).
 *
 * In Python (Arrow's split, a dictionary of the distinct words, numpy for the 5-grams) a body
 * costs 40-80 us, about half of what parsing the file costs; here it costs 2-3 us.
 *
 * shingles(data, offsets, values, counts) -> int
 *   The bodies are data[offsets[i] : offsets[i + 1]] (UTF-8, already lower-cased; `offsets`
 *   an int64 buffer of n + 1 entries). A word is a run of characters between whitespace (what
 *   Python's str.split() splits at) with the punctuation and symbol characters of DROP removed;
 *   a word left empty is dropped. Its hash is FNV-1a (64 bits) of its UTF-8 bytes. A shingle
 *   folds SHINGLE_WORDS consecutive words (s = s * STEP + w, from s = 0), or all the words of a
 *   body that has fewer; its value is the top 32 bits of murmur3's finalizer of s. Body i's
 *   shingles are appended to `values` (a writable uint32 buffer of at least
 *   len(data) / 2 + n + 1 entries) and their number written to counts[i] (int64). Returns the
 *   number of values written.
 *
 * jaccard(values, offsets, a, b, out) -> None
 *   Row r is values[offsets[r] : offsets[r + 1]] (a writable uint32 buffer, sorted here in
 *   place, row by row). out[i] (float64) gets the Jaccard similarity of the sets of rows a[i]
 *   and b[i] (int64 row numbers): |A and B| / |A or B|, 0 when both are empty. In numpy (a
 *   unique per row, an intersect1d per pair) this took 50-70 us a pair; here about 1 us, and
 *   5 us a row.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>

#define SHINGLE_WORDS 5
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define STEP 0x100000001b3ULL

/* Inclusive code point ranges: keep in step with neardup_text.DROP. */
static const uint32_t DROP[][2] = {
    {0x00A1, 0x00BF}, {0x00D7, 0x00D7}, {0x00F7, 0x00F7}, {0x060C, 0x060C}, {0x061B, 0x061B},
    {0x061F, 0x061F}, {0x066A, 0x066D}, {0x06D4, 0x06D4}, {0x0964, 0x0965}, {0x0970, 0x0970},
    {0x200B, 0x2027}, {0x202A, 0x202E}, {0x2030, 0x205E}, {0x2060, 0x206F}, {0x20A0, 0x20CF},
    {0x2190, 0x27BF}, {0x3001, 0x303F}, {0xFE10, 0xFE1F}, {0xFE30, 0xFE6F}, {0xFEFF, 0xFEFF},
    {0xFF01, 0xFF0F}, {0xFF1A, 0xFF20}, {0xFF3B, 0xFF40}, {0xFF5B, 0xFF65},
};

enum { LETTER, SPACE, DROPPED };
static unsigned char ascii_kind[128];

static int is_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static int is_dropped(uint32_t c) {
    if (c < 0x80)
        return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
    if (c > 0xFF65)
        return 0;
    for (size_t i = 0; i < sizeof(DROP) / sizeof(DROP[0]); i++) {
        if (c < DROP[i][0])
            return 0;
        if (c <= DROP[i][1])
            return 1;
    }
    return 0;
}

static uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    return h ^ (h >> 33);
}

static uint32_t fold(const uint64_t *words, int count) {
    /* `count` word hashes, in text order. */
    uint64_t s = 0;
    for (int k = 0; k < count; k++)
        s = s * STEP + words[k];
    return (uint32_t)(mix(s) >> 32);
}

static PyObject *shingles(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer data, offsets, values, counts;
    if (!PyArg_ParseTuple(args, "y*y*w*w*", &data, &offsets, &values, &counts))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t n = offsets.len / 8 - 1;
    const unsigned char *text = (const unsigned char *)data.buf;
    const int64_t *off = (const int64_t *)offsets.buf;
    uint32_t *out = (uint32_t *)values.buf;
    int64_t *count_out = (int64_t *)counts.buf;
    if (offsets.len % 8 || n < 0 || counts.len < n * 8 || values.len / 4 < data.len / 2 + n + 1) {
        PyErr_SetString(PyExc_ValueError, "shingles: int64 offsets, and values and counts buffers too small");
        goto done;
    }
    for (Py_ssize_t i = 0; i <= n; i++) {
        if (off[i] < 0 || off[i] > data.len || (i > 0 && off[i] < off[i - 1])) {
            PyErr_SetString(PyExc_IndexError, "shingles: an offset out of the data");
            goto done;
        }
    }
    Py_ssize_t written = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t ring[SHINGLE_WORDS]; /* word j of the body at slot j % SHINGLE_WORDS */
        Py_ssize_t words = 0, before = written;
        uint64_t h = FNV_OFFSET;
        int kept = 0;
        Py_ssize_t p = off[i], end = off[i + 1];
        while (p <= end) {
            /* Most bytes are ASCII letters or digits: hashed in a loop of their own. */
            while (p < end && text[p] < 0x80 && ascii_kind[text[p]] == LETTER) {
                h = (h ^ text[p]) * FNV_PRIME;
                kept = 1;
                p++;
            }
            int kind = SPACE; /* the end of the body ends its last word */
            Py_ssize_t len = 1;
            if (p < end) {
                unsigned char b = text[p];
                if (b < 0x80) {
                    kind = ascii_kind[b];
                } else {
                    uint32_t c = 0xFFFD; /* a stray continuation byte (not in valid UTF-8): part of a word */
                    if (b >= 0xF0 && p + 3 < end) {
                        c = ((b & 0x07u) << 18) | ((text[p + 1] & 0x3Fu) << 12) | ((text[p + 2] & 0x3Fu) << 6) | (text[p + 3] & 0x3Fu);
                        len = 4;
                    } else if (b >= 0xE0 && p + 2 < end) {
                        c = ((b & 0x0Fu) << 12) | ((text[p + 1] & 0x3Fu) << 6) | (text[p + 2] & 0x3Fu);
                        len = 3;
                    } else if (b >= 0xC0 && p + 1 < end) {
                        c = ((b & 0x1Fu) << 6) | (text[p + 1] & 0x3Fu);
                        len = 2;
                    }
                    kind = is_space(c) ? SPACE : is_dropped(c) ? DROPPED : LETTER;
                }
            }
            if (kind == LETTER) {
                for (Py_ssize_t k = 0; k < len; k++)
                    h = (h ^ text[p + k]) * FNV_PRIME;
                kept = 1;
            } else if (kind == SPACE) {
                if (kept) {
                    ring[words % SHINGLE_WORDS] = h;
                    words++;
                    if (words >= SHINGLE_WORDS) {
                        uint64_t ordered[SHINGLE_WORDS];
                        for (int k = 0; k < SHINGLE_WORDS; k++)
                            ordered[k] = ring[(words + k) % SHINGLE_WORDS];
                        out[written++] = fold(ordered, SHINGLE_WORDS);
                    }
                }
                h = FNV_OFFSET;
                kept = 0;
            }
            p += len;
        }
        if (words > 0 && words < SHINGLE_WORDS)
            out[written++] = fold(ring, words);
        count_out[i] = written - before;
    }
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(written);
done:
    PyBuffer_Release(&data);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&values);
    PyBuffer_Release(&counts);
    return result;
}

static int compare_u32(const void *x, const void *y) {
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

static PyObject *jaccard(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer values, offsets, a, b, out;
    if (!PyArg_ParseTuple(args, "w*y*y*y*w*", &values, &offsets, &a, &b, &out))
        return NULL;
    PyObject *result = NULL;
    uint32_t *v = (uint32_t *)values.buf;
    const int64_t *off = (const int64_t *)offsets.buf;
    const int64_t *pa = (const int64_t *)a.buf, *pb = (const int64_t *)b.buf;
    double *o = (double *)out.buf;
    Py_ssize_t rows = offsets.len / 8 - 1, pairs = a.len / 8;
    if (values.len % 4 || offsets.len % 8 || rows < 0 || a.len != b.len || a.len % 8 || out.len < pairs * 8) {
        PyErr_SetString(PyExc_ValueError, "jaccard: uint32 values, int64 offsets and pairs, a float64 out as long as the pairs");
        goto done;
    }
    for (Py_ssize_t r = 0; r <= rows; r++) {
        if (off[r] < 0 || off[r] > values.len / 4 || (r > 0 && off[r] < off[r - 1])) {
            PyErr_SetString(PyExc_IndexError, "jaccard: an offset out of the values");
            goto done;
        }
    }
    for (Py_ssize_t i = 0; i < pairs; i++) {
        if (pa[i] < 0 || pa[i] >= rows || pb[i] < 0 || pb[i] >= rows) {
            PyErr_SetString(PyExc_IndexError, "jaccard: a row out of the offsets");
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t r = 0; r < rows; r++)
        qsort(v + off[r], (size_t)(off[r + 1] - off[r]), sizeof(uint32_t), compare_u32);
    for (Py_ssize_t i = 0; i < pairs; i++) {
        /* A merge of two sorted rows, each value counted once however often it repeats. */
        const uint32_t *x = v + off[pa[i]], *xe = v + off[pa[i] + 1];
        const uint32_t *y = v + off[pb[i]], *ye = v + off[pb[i] + 1];
        int64_t shared = 0, either = 0;
        while (x < xe || y < ye) {
            uint32_t next;
            if (y >= ye || (x < xe && *x < *y)) {
                next = *x;
            } else if (x >= xe || *y < *x) {
                next = *y;
            } else {
                next = *x;
                shared++;
            }
            either++;
            while (x < xe && *x == next)
                x++;
            while (y < ye && *y == next)
                y++;
        }
        o[i] = either ? (double)shared / (double)either : 0.0;
    }
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&values);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    PyBuffer_Release(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"shingles", shingles, METH_VARARGS, "Word 5-gram hashes of UTF-8 bodies into a uint32 buffer (see the module's source)."},
    {"jaccard", jaccard, METH_VARARGS, "Jaccard similarities of pairs of rows of uint32 values (see the module's source)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_shingles", "Near-duplicate detection's word 5-gram hashes and Jaccard similarities in C.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__shingles(void) {
    for (uint32_t c = 0; c < 128; c++)
        ascii_kind[c] = is_space(c) ? SPACE : is_dropped(c) ? DROPPED : LETTER;
    return PyModule_Create(&module);
}
