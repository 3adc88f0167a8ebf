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
 *   (int32 offsets into the bytes `data`) is stat'ed relative to the folder `dir_fd`, without
 *   following a link (lstat). sizes[at + k] and mtimes[at + k] (writable int64 buffers) get its
 *   size and mtime in nanoseconds. An entry that is not a regular file gets, in place of its
 *   size, the code `listing` gives its kind (its mtime is still set): a symbolic link LINK (the
 *   caller resolves it), a FIFO, a socket, a device; a folder (made since the walk) or a name
 *   gone since the walk (ENOENT, ENOTDIR) GONE; a stat that fails otherwise STAT_FAILED minus
 *   its errno (mtime 0). Returns the number of links found. The codes must equal `listing`'s.
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

/* Codes in place of a size: the same values as `listing`'s constants. */
#define GONE (-1)
#define FIFO (-2)
#define SOCKET (-3)
#define DEVICE (-4)
#define OTHER (-5)
#define LINK (-6)
#define STAT_FAILED (-1000)

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
    Py_ssize_t links = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < count; k++) {
        Py_ssize_t start = (Py_ssize_t)off[first + k] + skip, length = off[first + k + 1] - start;
        memcpy(name, base + start, (size_t)length);
        name[length] = 0;
        struct stat st;
        if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            size_out[at + k] = (errno == ENOENT || errno == ENOTDIR) ? GONE : STAT_FAILED - errno;
            mtime_out[at + k] = 0;
            continue;
        }
        mtime_out[at + k] = (int64_t)MTIME_SEC(st) * 1000000000LL + (int64_t)MTIME_NSEC(st);
        if (S_ISREG(st.st_mode))
            size_out[at + k] = (int64_t)st.st_size;
        else if (S_ISLNK(st.st_mode)) {
            size_out[at + k] = LINK;
            links++;
        } else if (S_ISDIR(st.st_mode))
            size_out[at + k] = GONE;
        else if (S_ISFIFO(st.st_mode))
            size_out[at + k] = FIFO;
        else if (S_ISSOCK(st.st_mode))
            size_out[at + k] = SOCKET;
        else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
            size_out[at + k] = DEVICE;
        else
            size_out[at + k] = OTHER;
    }
    Py_END_ALLOW_THREADS
    result = PyLong_FromSsize_t(links);
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
    {"stat_names", stat_names, METH_VARARGS, "Lstat packed names relative to a folder's fd into int64 buffers; returns the links found (see the module's source)."},
#endif
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_stat", "The listing's stat loop in C.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__stat(void) { return PyModule_Create(&module); }
