"""spmmfarm.torch: a PyTorch model's nn.Linear layers on spmmfarm's tuned
sparse kernels (docs/DEPLOY.md).

    import spmmfarm.torch
    report = spmmfarm.torch.sparsify(model, "bert.bundle")   # in place
    print(report)            # which layers run sparse, which stay dense and why

sparsify() matches a bundle's layers to the model's nn.Linear modules by
name (the module's qualified name + ".weight", as `spmmfarm import` names
them), checks each one (shape, dtype, device, bias, ReLU and, by default,
that the module's weights are the ones the kernel was tuned for), and
replaces it by a SparseLinear module; a layer the bundle lacks, or one that
fails a check, stays a dense nn.Linear (one warning lists them).

SparseLinear calls the kernel on PyTorch's current CUDA stream, without a
host synchronisation: under CUDA graph capture too. In eager mode it calls
the launch path directly (spmmfarm._launch, a C extension, else ctypes);
under torch.compile it calls the registered operator spmmfarm::spmm, whose
fake kernel gives the output's shape (torch >= 2.4: torch.library.custom_op;
older torch: no operator, eager and CUDA graphs only). Inference only: no
gradient flows through a SparseLinear.

Layouts: an `nk` layer takes X (N x K, nn.Linear's input flattened to 2-D)
and gives Y (N x M) directly. A `kn` layer (B = X^T, K x N; C = Y^T) needs
a transpose of its input and of its output around the kernel: two copies
per call, which SparseLinear makes and says so once (tune with --layout nk).
"""
import warnings
from typing import Optional

import torch

import spmmfarm_rt
from spmmfarm import bundle as _bundle
from spmmfarm import runtime as _runtime

__all__ = ["load", "sparsify", "Bundle", "SparseLinear", "Report", "SparsifyWarning", "weight_hash",
           "HAS_CUSTOM_OP"]

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

# Tests only: lets layers take host (CPU) tensors so that the real path up
# to the launch runs against the fake CUDA driver (tests/fake_libcuda.c),
# which records launches and computes nothing. Never set it otherwise.
_TEST_HOST_POINTERS = False


class SparsifyWarning(UserWarning):
    """sparsify() left layers dense, or a layer runs with transposes."""


class _Entry:
    """What a launch needs of one bundle layer (the operator's `layer` int
    indexes the registry of these)."""
    __slots__ = ("handle", "name", "m", "k", "dtype", "code", "device", "layout", "fused_bias", "bundle")


# sfrt_dtype (runtime/spmmfarm_rt.h): what a launch says its buffers hold
_RT_DTYPE = {"float32": 0, "bfloat16": 1, "float16": 2}


_ENTRIES = []
_kn_warned = False

try:
    _raw_stream = torch._C._cuda_getCurrentRawStream
except AttributeError:
    _raw_stream = None

if hasattr(torch, "compiler") and hasattr(torch.compiler, "is_compiling"):
    _compiling = torch.compiler.is_compiling
else:
    try:
        from torch._dynamo import is_compiling as _compiling
    except ImportError:
        def _compiling():
            return False


def _stream(device):
    if device.type != "cuda":
        return 0
    if _raw_stream is not None:
        return _raw_stream(device.index)
    return torch.cuda.current_stream(device).cuda_stream


def _check_input(x, e):
    if x.dtype != e.dtype:
        raise TypeError("spmmfarm layer %s: input dtype %s, the kernel takes %s" % (e.name, x.dtype, e.dtype))
    if x.dim() < 1 or x.shape[-1] != e.k:
        raise ValueError("spmmfarm layer %s: input shape %s, the last dimension must be K = %d"
                         % (e.name, tuple(x.shape), e.k))
    if x.device != e.device:
        raise ValueError("spmmfarm layer %s: input on %s, the bundle runs on %s" % (e.name, x.device, e.device))


def _spmm(x, bias, layer):
    """Y = X A^T (+ bias) for the registered layer, on the current stream."""
    e = _ENTRIES[layer]
    _check_input(x, e)
    flat = x.dim() == 2
    x2 = x if flat else x.reshape(-1, e.k)
    if not x2.is_contiguous():
        x2 = x2.contiguous()
    x_ptr = x2.data_ptr()
    if x_ptr & 15:  # the kernels' vector loads want 16-byte alignment
        x2 = x2.clone()
        x_ptr = x2.data_ptr()
    n = x2.shape[0]
    if n == 0:
        return x.new_empty(x.shape[:-1] + (e.m,))
    bias_ptr = 0
    if e.fused_bias:
        if bias is None or bias.dtype != e.dtype or bias.device != e.device or bias.shape != (e.m,):
            raise ValueError("spmmfarm layer %s: the kernel adds a bias: %s-element %s on %s required"
                             % (e.name, e.m, e.dtype, e.device))
        bias_ptr = bias.data_ptr()
    launch = _runtime.launcher()[0]
    stream = _stream(e.device)
    if e.layout == "nk":
        y = x2.new_empty((n, e.m))
        launch(e.handle, stream, x_ptr, y.data_ptr(), n, bias_ptr, e.code)
    else:
        b = x2.t().contiguous()
        c = torch.empty((e.m, n), dtype=e.dtype, device=e.device)
        launch(e.handle, stream, b.data_ptr(), c.data_ptr(), n, bias_ptr, e.code)
        y = c.t().contiguous()
    if bias is not None and not e.fused_bias:
        y += bias
    return y if flat else y.view(x.shape[:-1] + (e.m,))


HAS_CUSTOM_OP = hasattr(torch, "library") and hasattr(torch.library, "custom_op")
if HAS_CUSTOM_OP:
    try:
        @torch.library.custom_op("spmmfarm::spmm", mutates_args=())
        def _spmm_op(x: torch.Tensor, bias: Optional[torch.Tensor], layer: int) -> torch.Tensor:
            return _spmm(x, bias, int(layer))

        @_spmm_op.register_fake
        def _spmm_fake(x, bias, layer):
            e = _ENTRIES[int(layer)]
            if x.dtype != e.dtype or x.shape[-1] != e.k:
                _check_input(x, e)
            return x.new_empty(x.shape[:-1] + (e.m,))
    except RuntimeError:  # registered already (the module loaded twice)
        pass


class SparseLinear(torch.nn.Module):
    """An nn.Linear computed by a bundle's kernel. Attributes: in_features,
    out_features, bias (the module's own Parameter, passed to the kernel),
    layer (the bundle layer's name), layout, template; weight only with
    sparsify(keep_dense=True)."""

    def __init__(self, linear, entry_id, spec, keep_dense=False):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.layer_id = entry_id
        self.layer, self.layout, self.template = spec.name, spec.layout, spec.template
        self.bias = linear.bias
        if keep_dense:
            self.weight = linear.weight

    def forward(self, x):
        if HAS_CUSTOM_OP and _compiling():
            return torch.ops.spmmfarm.spmm(x, self.bias, self.layer_id)
        return _spmm(x, self.bias, self.layer_id)

    def extra_repr(self):
        return "in_features=%d, out_features=%d, bias=%s, layer=%s, template=%s, layout=%s" % (
            self.in_features, self.out_features, self.bias is not None, self.layer, self.template, self.layout)


def _cuda_device(device):
    if device is None:
        return torch.device("cuda", torch.cuda.current_device())
    d = torch.device("cuda", device) if isinstance(device, int) else torch.device(device)
    if d.type != "cuda":
        raise ValueError("spmmfarm.torch: bundles run on CUDA devices, not %s" % d)
    return torch.device("cuda", torch.cuda.current_device() if d.index is None else d.index)


class Bundle:
    """A bundle opened for PyTorch: .spec (spmmfarm.bundle.BundleSpec), .rt
    (spmmfarm_rt.Bundle), .device (torch.device)."""

    def __init__(self, path, device=None, allow_simulated=False, exact_gpu=False):
        self.spec = _bundle.read(path)
        _runtime.library()
        if _TEST_HOST_POINTERS:
            self.device, ordinal = torch.device("cpu"), 0
        else:
            if not torch.cuda.is_available():
                raise RuntimeError("spmmfarm.torch: PyTorch sees no CUDA device")
            self.device = _cuda_device(device)
            ordinal = self.device.index
            torch.cuda.init()  # the primary context PyTorch uses, before the runtime retains it
        self.rt = spmmfarm_rt.Bundle(path, device=ordinal, exact_gpu=exact_gpu, allow_simulated=allow_simulated)
        self._entries = {}

    def entry(self, spec):
        """The registry id of a layer (registered once)."""
        if spec.name not in self._entries:
            layer = self.rt.layer(spec.name)
            layer.prepare()  # load the module now: never during a graph capture
            e = _Entry()
            e.handle, e.name, e.m, e.k = layer._handle.value, spec.name, spec.m, spec.k
            e.dtype, e.device, e.layout = _DTYPES[spec.dtype_b], self.device, spec.layout
            e.code = _RT_DTYPE[spec.dtype_b]
            e.fused_bias, e.bundle = spec.bias, self
            if spec.dtype_a != spec.dtype_b or spec.dtype_c != spec.dtype_b:
                raise ValueError("layer %s: A, B and C of dtypes %s, %s, %s: spmmfarm.torch takes one dtype"
                                 % (spec.name, spec.dtype_a, spec.dtype_b, spec.dtype_c))
            _ENTRIES.append(e)
            self._entries[spec.name] = len(_ENTRIES) - 1
        return self._entries[spec.name]

    def __repr__(self):
        return "<spmmfarm.torch.Bundle %s: %d layers on %s>" % (self.spec.path, len(self.spec.layers), self.device)


def load(path, device=None, allow_simulated=False, exact_gpu=False):
    """Opens a bundle on a CUDA device (default: the current one) in
    PyTorch's context. allow_simulated opens a bundle tuned with the sim
    backend (its kernels never ran on a GPU); exact_gpu also refuses another
    GPU type of the same compute capability."""
    return Bundle(path, device=device, allow_simulated=allow_simulated, exact_gpu=exact_gpu)


def weight_hash(weight):
    """spmmfarm's content hash of a weight matrix (as sf_matrix_hash, over
    the float32 values of its nonzeros), computed on the host."""
    import numpy
    w = weight.detach().to(device="cpu", dtype=torch.float32).contiguous()
    rows, cols = w.shape
    mask = w != 0
    row_ptr = torch.zeros(rows + 1, dtype=torch.int64)
    row_ptr[1:] = torch.cumsum(mask.sum(dim=1), 0)
    col = mask.nonzero()[:, 1]

    def le(t, kind):
        return numpy.ascontiguousarray(t.numpy()).astype(kind, copy=False).tobytes()

    return _bundle.csr_hash(rows, cols, le(row_ptr, "<u4"), le(col, "<u4"), le(w[mask], "<f4"))


class Report:
    """What sparsify() did: replaced [(module, bundle layer, template,
    layout)], dense [(module, reason)], unused [bundle layers no module
    matched]."""

    def __init__(self):
        self.replaced, self.dense, self.unused = [], [], []

    def __str__(self):
        lines = ["spmmfarm.torch.sparsify: %d nn.Linear sparse, %d dense, %d bundle layers unused"
                 % (len(self.replaced), len(self.dense), len(self.unused))]
        lines += ["  sparse %s (%s, %s)" % (m, t, lay) for m, _, t, lay in self.replaced]
        lines += ["  dense  %s: %s" % d for d in self.dense]
        lines += ["  unused %s" % u for u in self.unused]
        return "\n".join(lines)


def _unusable(spec, mod, bundle, check_weights, use_dense_kernels):
    """Why a module cannot take a bundle layer, or None."""
    w = mod.weight
    if spec.template == "dense" and not (use_dense_kernels is True
                                         or (use_dense_kernels == "auto" and spec.dense_beats_library())):
        return "the farm found no kernel faster than the dense library for it: kept on cuBLAS"
    if (mod.out_features, mod.in_features) != (spec.m, spec.k):
        return "shape %d x %d, the bundle's layer is %d x %d" % (mod.out_features, mod.in_features, spec.m, spec.k)
    if spec.relu:
        return "the bundle's kernel applies a ReLU, nn.Linear does not"
    want = _DTYPES.get(spec.dtype_a)
    if w.dtype != want:
        return "weights are %s, the bundle's layer is %s (precision %s): convert the model or tune with " \
               "--precision" % (w.dtype, want, spec.precision)
    if w.device != bundle.device:
        return "on %s, the bundle runs on %s: move the model first" % (w.device, bundle.device)
    if spec.bias and mod.bias is None:
        return "the kernel adds a bias, the module has none"
    if check_weights and spec.matrix and weight_hash(w) != spec.matrix:
        return "its weights are not those the kernel was tuned for (content hash differs)"
    return None


def _warn(message):
    warnings.warn(message, SparsifyWarning, stacklevel=3)


def sparsify(model, bundle, check_weights=True, keep_dense=False, strict=False, use_dense_kernels="auto",
             device=None, allow_simulated=False):
    """Replaces, in place, each nn.Linear of model that bundle (a path or a
    Bundle from load()) has a kernel for; returns a Report.

    check_weights: compare each module's weights with the content hash of
    the weights its kernel was tuned for (a U kernel holds them in its code:
    other weights would give another layer's output); keep_dense: keep the
    dense weight on the new module (default: dropped, freeing its memory);
    strict: raise instead of leaving a layer dense; use_dense_kernels: for
    layers whose tuned winner is dense, "auto" (default) takes the bundle's
    own dense kernel where the farm measured it faster than the tier's
    library in the same run (the manifest's time_us < library_us: e.g. the
    3xTF32 tensor-core kernels against SGEMM in fp32) and keeps cuBLAS
    elsewhere; True always takes it, False never."""
    linears = [(name, mod) for name, mod in model.named_modules()
               if isinstance(mod, torch.nn.Linear) and not isinstance(mod, SparseLinear)]
    if not isinstance(bundle, Bundle):
        if device is None:  # the model's GPU
            device = next((m.weight.device for _, m in linears if m.weight.device.type == "cuda"), None)
        bundle = load(bundle, device=device, allow_simulated=allow_simulated)
    report = Report()
    matched = set()
    for name, mod in linears:
        spec = bundle.spec.layer(_bundle.bundle_name(name + ".weight"))
        reason = "not in the bundle" if spec is None else _unusable(spec, mod, bundle, check_weights,
                                                                    use_dense_kernels)
        if spec is not None:
            matched.add(spec.name)
        if reason is not None:
            report.dense.append((name, reason))
            continue
        entry = bundle.entry(spec)
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, SparseLinear(mod, entry, spec, keep_dense=keep_dense))
        report.replaced.append((name, spec.name, spec.template, spec.layout))
    report.unused = [layer.name for layer in bundle.spec.layers if layer.name not in matched]
    if report.dense:
        text = "%d of %d nn.Linear layers stay dense: %s" % (
            len(report.dense), len(linears), "; ".join("%s (%s)" % d for d in report.dense[:8])
            + ("; and %d more" % (len(report.dense) - 8) if len(report.dense) > 8 else ""))
        if strict:
            raise ValueError("spmmfarm.torch.sparsify: " + text)
        _warn("spmmfarm: " + text)
    global _kn_warned
    if not _kn_warned and any(r[3] == "kn" for r in report.replaced):
        _kn_warned = True
        _warn("spmmfarm: layers tuned in layout kn (B = X^T): each call transposes its input and its output "
              "around the kernel (two copies a layer); tune with `spmmfarm import --layout nk` to avoid them")
    return report

