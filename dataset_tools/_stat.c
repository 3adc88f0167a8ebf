/* The listing's stat loop in C (see `listing._stat_range`, which falls back to Python where
 * this module was not built).
 *
 * In Python, a stat call costs about as much again as the system call itself: the stat_result
 * object, its float and nanosecond timestamps, the argument parsing. A rebuild stats every raw
 * file (200,000 files: 3.4 us each in Python, 1.8 us here), and the listing is most of what a
 * rebuild of a large corpus does before it knows what changed.
 *
 * stat_names(dir_fd, data, offsets, skip, first, count, sizes, mtimes, at)
 *   For k in 0..count-1, the name data[offsets[first + k] + skip : offsets[first + k + 1]]
 *   (int32 offsets into the bytes `data`) is stat'ed relative to the folder `dir_fd`, following
 *   links. sizes[at + k] and mtimes[at + k] (writable int64 buffers) get its size and mtime in
 *   nanoseconds; the size is -1 where the file is gone (ENOENT, ENOTDIR), is a link in a loop
 *   (ELOOP), or is not a regular file. Any other error raises OSError naming the file.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if defined(__unix__) || defined(__APPLE__)
#define HAVE_STAT_NAMES 1
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef __APPLE__
#define MTIME_SEC(st) ((st).st_mtimespec.tv_sec)
#define MTIME_NSEC(st) ((st).st_mtimespec.tv_nsec)
#else
#define MTIME_SEC(st) ((st).st_mtim.tv_sec)
#define MTIME_NSEC(st) ((st).st_mtim.tv_nsec)
#endif

static PyObject *stat_names(PyObject *self, PyObject *args) {
    (void)self;
    int dir_fd;
    Py_buffer data, offsets, sizes, mtimes;
    Py_ssize_t skip, first, count, at;
    if (!PyArg_ParseTuple(args, "iy*y*nnnw*w*n", &dir_fd, &data, &offsets, &skip, &first, &count, &sizes, &mtimes, &at))
        return NULL;
    PyObject *result = NULL;
    char *name = NULL;
    if (offsets.len % 4 || sizes.len % 8 || mtimes.len % 8) {
        PyErr_SetString(PyExc_ValueError, "offsets must be int32 and sizes and mtimes int64 buffers");
        goto done;
    }
    const char *base = (const char *)data.buf;
    const int32_t *off = (const int32_t *)offsets.buf;
    Py_ssize_t n_offsets = offsets.len / 4;
    int64_t *size_out = (int64_t *)sizes.buf;
    int64_t *mtime_out = (int64_t *)mtimes.buf;
    if (skip < 0 || first < 0 || count < 0 || at < 0 || (count > 0 && first + count >= n_offsets) ||
        at + count > sizes.len / 8 || at + count > mtimes.len / 8) {
        PyErr_SetString(PyExc_IndexError, "stat_names: a range out of its buffer");
        goto done;
    }
    /* Every name's bounds are checked before any is stat'ed: no read outside `data`. */
    Py_ssize_t longest = 0;
    for (Py_ssize_t k = 0; k < count; k++) {
        Py_ssize_t start = (Py_ssize_t)off[first + k] + skip, stop = off[first + k + 1];
        if (start < 0 || stop < start || stop > data.len) {
            PyErr_SetString(PyExc_IndexError, "stat_names: a name out of its buffer");
            goto done;
        }
        if (memchr(base + start, 0, (size_t)(stop - start))) {
            PyErr_SetString(PyExc_ValueError, "stat_names: a name with a NUL byte");
            goto done;
        }
        if (stop - start > longest)
            longest = stop - start;
    }
    name = malloc((size_t)longest + 1);
    if (!name) {
        PyErr_NoMemory();
        goto done;
    }
    int error = 0;
    Py_ssize_t failed = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < count; k++) {
        Py_ssize_t start = (Py_ssize_t)off[first + k] + skip, length = off[first + k + 1] - start;
        memcpy(name, base + start, (size_t)length);
        name[length] = 0;
        struct stat st;
        if (fstatat(dir_fd, name, &st, 0) != 0) {
            if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) {
                size_out[at + k] = -1;
                continue;
            }
            error = errno;
            failed = k;
            break;
        }
        if (!S_ISREG(st.st_mode)) {
            size_out[at + k] = -1;
            continue;
        }
        size_out[at + k] = (int64_t)st.st_size;
        mtime_out[at + k] = (int64_t)MTIME_SEC(st) * 1000000000LL + (int64_t)MTIME_NSEC(st);
    }
    Py_END_ALLOW_THREADS
    if (error) {
        Py_ssize_t start = (Py_ssize_t)off[first + failed] + skip;
        PyObject *filename = PyBytes_FromStringAndSize(base + start, off[first + failed + 1] - start);
        if (filename) {
            errno = error;
            PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, filename);
            Py_DECREF(filename);
        }
        goto done;
    }
    result = Py_None;
    Py_INCREF(result);
done:
    free(name);
    PyBuffer_Release(&data);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&sizes);
    PyBuffer_Release(&mtimes);
    return result;
}
#endif

static PyMethodDef methods[] = {
#ifdef HAVE_STAT_NAMES
    {"stat_names", stat_names, METH_VARARGS, "Stat packed names relative to a folder's fd into int64 buffers (see the module's source)."},
#endif
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_stat", "The listing's stat loop in C.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__stat(void) { return PyModule_Create(&module); }
