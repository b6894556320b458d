/*  spmmfarm._launch: the per-call path of spmmfarm.torch, in C.

    One call, launch(layer, stream, b, c, n, bias, dtype), turns seven
    Python ints into the arguments of libspmmfarm-rt's sfrt_launch_typed()
    (dtype: an sfrt_dtype, which the runtime checks against the layer's)
    and calls it: no
    ctypes argument conversion, no object allocated on success. The library
    is the one spmmfarm_rt loaded with ctypes; bind() receives the addresses
    of its functions (ctypes.cast(lib.sfrt_launch_typed, c_void_p).value), so this
    module links nothing and needs neither torch's headers nor the CUDA
    toolkit to build: Python.h and a C compiler.

        bind(sfrt_launch_typed, sfrt_last_error, sfrt_last_cuda_error, ErrorClass)
        launch(layer, stream, b, c, n, bias, dtype)   # None, or raises ErrorClass(status, message, cuda)
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

typedef int (*s_launch_fn) (void *layer, void *stream, uint64_t b, uint64_t c, int64_t n, uint64_t bias,
                            int dtype);
typedef const char *(*s_text_fn) (void);
typedef int (*s_int_fn) (void);

static s_launch_fn s_launch;
static s_text_fn s_last_error;
static s_int_fn s_last_cuda_error;
static PyObject *s_error_class;  /* a reference is held */

static void *
s_address (PyObject *value, const char *what)
{
    void *p = PyLong_AsVoidPtr (value);
    if (!p && !PyErr_Occurred ())
        PyErr_Format (PyExc_ValueError, "bind: %s is NULL", what);
    return p;
}

static PyObject *
s_bind (PyObject *self, PyObject *args)
{
    (void) self;
    PyObject *launch, *last_error, *last_cuda, *error_class;
    if (!PyArg_ParseTuple (args, "OOOO:bind", &launch, &last_error, &last_cuda, &error_class))
        return NULL;
    void *a = s_address (launch, "sfrt_launch_typed");
    void *b = a ? s_address (last_error, "sfrt_last_error") : NULL;
    void *c = b ? s_address (last_cuda, "sfrt_last_cuda_error") : NULL;
    if (!c)
        return NULL;
    if (!PyCallable_Check (error_class)) {
        PyErr_SetString (PyExc_TypeError, "bind: the error class must be callable");
        return NULL;
    }
    s_launch = (s_launch_fn) a;
    s_last_error = (s_text_fn) b;
    s_last_cuda_error = (s_int_fn) c;
    Py_INCREF (error_class);
    Py_XSETREF (s_error_class, error_class);
    Py_RETURN_NONE;
}

static uint64_t
s_u64 (PyObject *value)
{
    return PyLong_AsUnsignedLongLong (value);
}

static PyObject *
s_launch_py (PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void) self;
    if (nargs != 7) {
        PyErr_Format (PyExc_TypeError, "launch(layer, stream, b, c, n, bias, dtype): 7 arguments, %zd given",
                      nargs);
        return NULL;
    }
    if (!s_launch) {
        PyErr_SetString (PyExc_RuntimeError, "spmmfarm._launch: bind() was not called");
        return NULL;
    }
    void *layer = PyLong_AsVoidPtr (args[0]);
    void *stream = PyLong_AsVoidPtr (args[1]);
    uint64_t b = s_u64 (args[2]), c = s_u64 (args[3]);
    int64_t n = PyLong_AsLongLong (args[4]);
    uint64_t bias = s_u64 (args[5]);
    long dtype = PyLong_AsLong (args[6]);
    if (PyErr_Occurred ())
        return NULL;
    int status = s_launch (layer, stream, b, c, n, bias, (int) dtype);
    if (status == 0)
        Py_RETURN_NONE;
    PyObject *error = PyObject_CallFunction (s_error_class, "isi", status, s_last_error (), s_last_cuda_error ());
    if (error) {
        PyErr_SetObject ((PyObject *) Py_TYPE (error), error);
        Py_DECREF (error);
    }
    return NULL;
}

static PyMethodDef s_methods[] = {
    { "bind", s_bind, METH_VARARGS, "bind(sfrt_launch_typed, sfrt_last_error, sfrt_last_cuda_error, ErrorClass)" },
    { "launch", (PyCFunction) (void (*) (void)) s_launch_py, METH_FASTCALL,
      "launch(layer, stream, b, c, n, bias, dtype): sfrt_launch_typed with raw handles and device pointers" },
    { NULL, NULL, 0, NULL }
};

static struct PyModuleDef s_module = {
    PyModuleDef_HEAD_INIT, "spmmfarm._launch", "libspmmfarm-rt's launch, called from C", -1, s_methods,
    NULL, NULL, NULL, NULL
};

PyMODINIT_FUNC
PyInit__launch (void)
{
    return PyModule_Create (&s_module);
}
