"""spmmfarm_rt: Python binding of libspmmfarm-rt, spmmfarm's deployment runtime.

Opens a kernel bundle (NAME.bundle/, see docs/BUNDLES.md) and launches its
tuned SpMM kernels, C = A @ B (+ bias, ReLU), on CUDA device memory: plain
device pointers (ints), or PyTorch CUDA tensors (contiguous, of the layer's
dtype: float32 for fp32 and tf32 layers, bfloat16 or float16 for bf16 and
fp16 layers; layer.dtype says which) on their current stream.

    import torch, spmmfarm_rt
    bundle = spmmfarm_rt.Bundle("model.bundle")   # device 0's primary context,
    fc1 = bundle.layer("fc1")                     # the one PyTorch uses
    B = torch.randn(fc1.k, 4096, device="cuda")
    C = fc1(B)                                    # or fc1.launch(B, C)

ctypes only, no build step. The shared library is looked for in
$SPMMFARM_RT_LIB, next to this file, in the build tree (../runtime/.libs),
in the installation prefix (PREFIX/lib, this file being installed in
PREFIX/share/spmmfarm/python), then by the dynamic loader's search path.
Importing the module and read_manifest() need neither the library nor a GPU.
"""

import ctypes
import ctypes.util
import json
import os

__all__ = ["Bundle", "Layer", "Error", "read_manifest", "library_path", "load_library", "DTYPES"]

# sfrt_status (runtime/spmmfarm_rt.h)
OK = 0
ERR_INVALID = -1
ERR_NOMEM = -2
ERR_IO = -3
ERR_FORMAT = -4
ERR_VERSION = -5
ERR_CHECKSUM = -6
ERR_NODRIVER = -7
ERR_DEVICE = -8
ERR_CUDA = -9
ERR_NOTFOUND = -10
ERR_SIMULATED = -11
ERR_DTYPE = -12
ERR_SIGNATURE = -13

# sfrt_dtype: the element types of a layer's buffers, by the manifest's names
DTYPES = {"float32": 0, "bfloat16": 1, "float16": 2}

CURRENT_CONTEXT = -1
OPEN_EXACT_GPU = 1
OPEN_ALLOW_SIMULATED = 2


class Error(RuntimeError):
    """A runtime call failed: .status is the sfrt_status, .cuda the CUresult."""

    def __init__(self, status, message, cuda=0):
        super().__init__(message)
        self.status = status
        self.cuda = cuda


class _BundleInfo(ctypes.Structure):
    _fields_ = [
        ("path", ctypes.c_char_p),
        ("gpu_type", ctypes.c_char_p),
        ("cc_major", ctypes.c_int),
        ("cc_minor", ctypes.c_int),
        ("toolkit", ctypes.c_char_p),
        ("driver", ctypes.c_char_p),
        ("created", ctypes.c_char_p),
        ("generator", ctypes.c_char_p),
        ("simulated", ctypes.c_int),
        ("layer_count", ctypes.c_int),
        ("device", ctypes.c_int),
    ]


class _LayerInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("m", ctypes.c_int64),
        ("k", ctypes.c_int64),
        ("tuned_n", ctypes.c_int64),
        ("tmpl", ctypes.c_char_p),
        ("config", ctypes.c_char_p),
        ("entry", ctypes.c_char_p),
        ("bias", ctypes.c_int),
        ("relu", ctypes.c_int),
        ("has_data", ctypes.c_int),
        ("verified_error", ctypes.c_double),
        ("time_us", ctypes.c_double),
        ("simulated", ctypes.c_int),
        ("block_threads", ctypes.c_int),
        ("cols_per_block", ctypes.c_int),
        ("panel_groups", ctypes.c_int),
        ("order", ctypes.c_int),
        ("vec", ctypes.c_int),
        ("shared_bytes", ctypes.c_int),
    ]


class _LayerTypes(ctypes.Structure):
    _fields_ = [
        ("precision", ctypes.c_char_p),
        ("layout", ctypes.c_char_p),
        ("a", ctypes.c_int),
        ("b", ctypes.c_int),
        ("c", ctypes.c_int),
        ("a_name", ctypes.c_char_p),
        ("b_name", ctypes.c_char_p),
        ("c_name", ctypes.c_char_p),
    ]


_lib = None
_lib_path = None


def _candidates():
    here = os.path.dirname(os.path.abspath(__file__))
    env = os.environ.get("SPMMFARM_RT_LIB")
    if env:
        yield env
        return
    for name in ("libspmmfarm-rt.so.0", "libspmmfarm-rt.so"):
        yield os.path.join(here, name)
        yield os.path.join(here, "..", "runtime", ".libs", name)
        yield os.path.join(here, "..", "..", "..", "lib", name)
    found = ctypes.util.find_library("spmmfarm-rt")
    yield found or "libspmmfarm-rt.so.0"


def library_path():
    """The path of the loaded library (loading it if needed)."""
    _library()
    return _lib_path


def _library():
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    errors = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            errors.append(str(e))
            continue
        _declare(lib)
        _lib, _lib_path = lib, path
        return lib
    raise Error(ERR_NODRIVER, "libspmmfarm-rt not found (set SPMMFARM_RT_LIB): "
                + "; ".join(errors or ["no candidate exists"]))


def load_library(path):
    """Loads libspmmfarm-rt from path instead of searching (before the first
    Bundle; a later call for another path is refused). Returns the path."""
    global _lib, _lib_path
    if _lib is not None:
        if os.path.realpath(path) != os.path.realpath(_lib_path):
            raise Error(ERR_INVALID, "libspmmfarm-rt is already loaded from %s" % _lib_path)
        return _lib_path
    lib = ctypes.CDLL(path)
    _declare(lib)
    _lib, _lib_path = lib, path
    return path


def _declare(lib):
    p, i, u64, i64 = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64, ctypes.c_int64
    for name, res, args in [
        ("sfrt_open", i, [ctypes.c_char_p, i, ctypes.c_uint, ctypes.POINTER(p)]),
        ("sfrt_close", None, [p]),
        ("sfrt_bundle_info", i, [p, ctypes.POINTER(_BundleInfo)]),
        ("sfrt_layer", i, [p, ctypes.c_char_p, ctypes.POINTER(p)]),
        ("sfrt_layer_at", i, [p, i, ctypes.POINTER(p)]),
        ("sfrt_layer_info", i, [p, ctypes.POINTER(_LayerInfo)]),
        ("sfrt_prepare", i, [p]),
        ("sfrt_launch", i, [p, p, u64, u64, i64, u64]),
        ("sfrt_launch_typed", i, [p, p, u64, u64, i64, u64, i]),
        ("sfrt_layer_types", i, [p, ctypes.POINTER(_LayerTypes)]),
        ("sfrt_layer_grid", i, [p, i64, ctypes.POINTER(ctypes.c_uint32 * 3)]),
        ("sfrt_strerror", ctypes.c_char_p, [i]),
        ("sfrt_last_error", ctypes.c_char_p, []),
        ("sfrt_last_cuda_error", i, []),
        ("sfrt_version", ctypes.c_char_p, []),
    ]:
        fn = getattr(lib, name)
        fn.restype = res
        fn.argtypes = args


def _check(status):
    if status != OK:
        lib = _library()
        raise Error(status, lib.sfrt_last_error().decode(errors="replace"), lib.sfrt_last_cuda_error())


def version():
    """The library's version string."""
    return _library().sfrt_version().decode()


def read_manifest(path):
    """The bundle's manifest.json as a dict (no library, no GPU, no checks:
    the library validates it when a Bundle is opened)."""
    with open(os.path.join(path, "manifest.json"), encoding="utf-8") as f:
        return json.load(f)


def _pointer(x, what):
    """A device pointer from an int or a tensor-like object (data_ptr())."""
    if x is None:
        return 0
    if isinstance(x, int):
        return x
    if hasattr(x, "data_ptr"):
        return x.data_ptr()
    raise TypeError("%s: expected a device pointer (int) or a CUDA tensor, not %s" % (what, type(x).__name__))


def _dtype_name(t):
    """A tensor's dtype as the manifest names it: "float32", "bfloat16"..."""
    return str(getattr(t, "dtype", "float32")).replace("torch.", "")


def _check_tensor(t, what, shape, dtype="float32"):
    """Shape, dtype, device and layout of a torch tensor (ints pass)."""
    if t is None or isinstance(t, int) or not hasattr(t, "shape"):
        return
    if tuple(t.shape) != tuple(shape):
        raise ValueError("%s: shape %s, expected %s" % (what, tuple(t.shape), tuple(shape)))
    if _dtype_name(t) != dtype:
        raise ValueError("%s: dtype %s, but the layer's is %s" % (what, _dtype_name(t), dtype))
    if hasattr(t, "is_cuda") and not t.is_cuda:
        raise ValueError("%s: not on a CUDA device" % what)
    if hasattr(t, "is_contiguous") and not t.is_contiguous():
        raise ValueError("%s: not contiguous (row-major)" % what)


class Layer:
    """One layer of an open bundle. Attributes: name, m, k, tuned_n, template,
    config, entry, bias, relu, has_data, verified_error (None: not verified),
    time_us (None: unknown), simulated, launch_rule (dict), precision ("fp32",
    "tf32", "bf16", "fp16"), layout ("kn", "nk") and dtype (of B, C and bias:
    "float32", "bfloat16", "float16")."""

    def __init__(self, bundle, handle):
        self._bundle = bundle
        self._handle = handle
        info = _LayerInfo()
        _check(_library().sfrt_layer_info(handle, ctypes.byref(info)))
        self.name = info.name.decode()
        self.m, self.k, self.tuned_n = info.m, info.k, info.tuned_n
        self.template = info.tmpl.decode()
        self.config = info.config.decode()
        self.entry = info.entry.decode()
        self.bias, self.relu, self.has_data = bool(info.bias), bool(info.relu), bool(info.has_data)
        self.verified_error = info.verified_error if info.verified_error >= 0 else None
        self.time_us = info.time_us if info.time_us >= 0 else None
        self.simulated = bool(info.simulated)
        self.launch_rule = {f: getattr(info, f) for f in (
            "block_threads", "cols_per_block", "panel_groups", "order", "vec", "shared_bytes")}
        types = _LayerTypes()
        _check(_library().sfrt_layer_types(handle, ctypes.byref(types)))
        self.precision = types.precision.decode()
        self.layout = types.layout.decode()
        self.dtype = types.b_name.decode()

    def __repr__(self):
        return "<spmmfarm_rt.Layer %s %s %dx%d tuned N=%d>" % (
            self.name, self.template, self.m, self.k, self.tuned_n)

    def prepare(self):
        """Loads the kernel now rather than at the first launch."""
        self._bundle._live()
        _check(_library().sfrt_prepare(self._handle))

    def grid(self, n):
        """The launch grid (x, y, z) for n columns."""
        grid = (ctypes.c_uint32 * 3)()
        _check(_library().sfrt_layer_grid(self._handle, n, ctypes.byref(grid)))
        return tuple(grid)

    def launch(self, b, c, n=None, bias=None, stream=None):
        """Enqueues C = A @ B (+ bias, ReLU) for n columns.

        b (K x N; nk layers: N x K), c (M x N; nk: N x M) and bias (M) are
        device pointers, or contiguous CUDA tensors of the layer's dtype (a
        tensor of another dtype is refused before anything is launched, and
        so is a launch the library finds of another type); n defaults to b's
        N dimension. stream
        is a CUstream handle (int); by default the current torch stream when
        b is a tensor, else the default stream."""
        self._bundle._live()
        nk = self.layout == "nk"
        if n is None:
            if not hasattr(b, "shape"):
                raise ValueError("n is required when b is a pointer")
            n = int(b.shape[0 if nk else 1])
        _check_tensor(b, "b", (n, self.k) if nk else (self.k, n), self.dtype)
        _check_tensor(c, "c", (n, self.m) if nk else (self.m, n), self.dtype)
        _check_tensor(bias, "bias", (self.m,), self.dtype)
        if stream is None:
            stream = 0
            if hasattr(b, "is_cuda") and b.is_cuda:
                import torch  # only when given torch tensors
                stream = torch.cuda.current_stream(b.device).cuda_stream
        # the buffers' type: a tensor's own, else (pointers) the layer's
        dtype = _dtype_name(b) if hasattr(b, "dtype") else self.dtype
        if dtype not in DTYPES:
            raise ValueError("b: dtype %s is none of %s" % (dtype, ", ".join(DTYPES)))
        _check(_library().sfrt_launch_typed(self._handle, ctypes.c_void_p(stream), _pointer(b, "b"),
                                            _pointer(c, "c"), n, _pointer(bias, "bias"), DTYPES[dtype]))

    def __call__(self, b, bias=None, out=None):
        """torch: returns C = A @ b (+ bias, ReLU) as a new (or the given) tensor."""
        import torch
        if out is None:
            n = int(b.shape[0 if self.layout == "nk" else 1])
            out = torch.empty((n, self.m) if self.layout == "nk" else (self.m, n),
                              dtype=getattr(torch, self.dtype), device=b.device)
        self.launch(b, out, bias=bias)
        return out


class Bundle:
    """An open bundle: Bundle(path, device=0) uses that device's primary
    context (PyTorch's); device=None the calling thread's current context.
    exact_gpu refuses another GPU type of the same compute capability;
    allow_simulated opens a bundle tuned with the simulator."""

    def __init__(self, path, device=0, exact_gpu=False, allow_simulated=False):
        lib = _library()
        self._handle = None
        flags = (OPEN_EXACT_GPU if exact_gpu else 0) | (OPEN_ALLOW_SIMULATED if allow_simulated else 0)
        handle = ctypes.c_void_p()
        _check(lib.sfrt_open(os.fsencode(path), CURRENT_CONTEXT if device is None else device,
                             flags, ctypes.byref(handle)))
        self._handle = handle
        info = _BundleInfo()
        _check(lib.sfrt_bundle_info(handle, ctypes.byref(info)))
        self.path = info.path.decode()
        self.gpu_type = info.gpu_type.decode()
        self.compute_capability = (info.cc_major, info.cc_minor)
        self.toolkit = info.toolkit.decode()
        self.driver = info.driver.decode()
        self.created = info.created.decode()
        self.generator = info.generator.decode()
        self.simulated = bool(info.simulated)
        self.device = info.device
        self._layers = []
        for index in range(info.layer_count):
            layer = ctypes.c_void_p()
            _check(lib.sfrt_layer_at(handle, index, ctypes.byref(layer)))
            self._layers.append(Layer(self, layer))
        self._by_name = {layer.name: layer for layer in self._layers}

    def _live(self):
        if self._handle is None:
            raise Error(ERR_INVALID, "the bundle is closed")

    @property
    def layers(self):
        """The layers, in the manifest's order."""
        return list(self._layers)

    def layer(self, name):
        """The layer called name (Error with ERR_NOTFOUND if none)."""
        self._live()
        if name not in self._by_name:
            handle = ctypes.c_void_p()
            _check(_library().sfrt_layer(self._handle, name.encode(), ctypes.byref(handle)))
        return self._by_name[name]

    __getitem__ = layer

    def close(self):
        """Unloads the kernels; launches already queued must have finished."""
        if self._handle is not None:
            _library().sfrt_close(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        return "<spmmfarm_rt.Bundle %s: %d layers for %s>" % (self.path, len(self._layers), self.gpu_type)
