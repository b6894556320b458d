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

__all__ = ["load", "sparsify", "Bundle", "SparseLinear", "SparseConv2d", "Report", "SparsifyWarning",
           "weight_hash", "model_manifest", "HAS_CUSTOM_OP"]

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
    if e.layout == "nk":
        y = _launch(e, x2, bias)
    else:  # B = X^T in, C = Y^T out: a copy each way
        y = _launch(e, x2.t().contiguous(), bias).t().contiguous()
    return y if flat else y.view(x.shape[:-1] + (e.m,))


def _spmm_raw(b, bias, layer):
    """The kernel on its own operands: kn: B (K x N) in, C (M x N) out; nk:
    X (N x K) in, Y (N x M) out. For callers that lay B out themselves
    (SparseConv2d: im2col's K x N is kn's B)."""
    e = _ENTRIES[layer]
    if b.dtype != e.dtype:
        raise TypeError("spmmfarm layer %s: input dtype %s, the kernel takes %s" % (e.name, b.dtype, e.dtype))
    if b.device != e.device:
        raise ValueError("spmmfarm layer %s: input on %s, the bundle runs on %s" % (e.name, b.device, e.device))
    kn = e.layout != "nk"
    if b.dim() != 2 or b.shape[0 if kn else 1] != e.k:
        raise ValueError("spmmfarm layer %s: operand of shape %s, the kernel takes %s" % (
            e.name, tuple(b.shape), "K x N (K = %d)" % e.k if kn else "N x K (K = %d)" % e.k))
    return _launch(e, b, bias)


def _launch(e, b, bias):
    """The launch on an operand already checked (dtype, device, shape):
    _spmm's per-call path checks once, in _check_input."""
    kn = e.layout != "nk"
    if not b.is_contiguous() or b.data_ptr() & 15:
        b = b.contiguous() if not b.is_contiguous() else b.clone()
    n = b.shape[1] if kn else b.shape[0]
    out = b.new_empty((e.m, n) if kn else (n, e.m))
    if n == 0:
        return out
    bias_ptr = 0
    if e.fused_bias:
        if bias is None or bias.dtype != e.dtype or bias.device != e.device or bias.shape != (e.m,):
            raise ValueError("spmmfarm layer %s: the kernel adds a bias: %s-element %s on %s required"
                             % (e.name, e.m, e.dtype, e.device))
        bias_ptr = bias.data_ptr()
    _runtime.launcher()[0](e.handle, _stream(e.device), b.data_ptr(), out.data_ptr(), n, bias_ptr, e.code)
    if bias is not None and not e.fused_bias:
        out += bias.view(-1, 1) if kn else bias
    return out


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
    try:
        @torch.library.custom_op("spmmfarm::spmm_raw", mutates_args=())
        def _spmm_raw_op(b: torch.Tensor, bias: Optional[torch.Tensor], layer: int) -> torch.Tensor:
            return _spmm_raw(b, bias, int(layer))

        @_spmm_raw_op.register_fake
        def _spmm_raw_fake(b, bias, layer):
            e = _ENTRIES[int(layer)]
            return b.new_empty((e.m, b.shape[1]) if e.layout != "nk" else (b.shape[0], e.m))
    except RuntimeError:
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


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _conv_geometry(conv):
    """(kernel, stride, padding, dilation) as pairs of ints, or a string
    saying why the convolution is not one im2col product."""
    if not isinstance(conv, torch.nn.Conv2d) or conv.weight.dim() != 4:
        return "not a 2-D convolution"
    if conv.groups != 1:
        return "a grouped convolution (groups = %d) is not one matrix product" % conv.groups
    if conv.padding_mode != "zeros":
        return "padding mode %s (im2col pads with zeros)" % conv.padding_mode
    kernel, stride, dilation = _pair(conv.kernel_size), _pair(conv.stride), _pair(conv.dilation)
    padding = conv.padding
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        else:  # "same": stride 1; symmetric only where the reach is even
            reach = [d * (k - 1) for d, k in zip(dilation, kernel)]
            if any(r % 2 for r in reach):
                return "padding 'same' with an odd reach (asymmetric padding)"
            padding = tuple(r // 2 for r in reach)
    return kernel, stride, _pair(padding), dilation


class SparseConv2d(torch.nn.Module):
    """An nn.Conv2d (groups 1, zero padding) computed as its im2col product
    by a bundle's kernel: the bundle layer's A is the weight as O x
    I*kh*kw (docs/MATRICES.md 4.6), B the unfolded input, K x N with N =
    batch x out_h x out_w. A kn kernel takes the unfolded input as it is
    at batch 1 (and a 1 x 1, stride-1 convolution's input without any
    copy); an nk kernel takes its transpose. Attributes: in_channels,
    out_channels, kernel_size, stride, padding, dilation, bias, layer,
    layout, template."""

    def __init__(self, conv, entry_id, spec, geometry, keep_dense=False):
        super().__init__()
        self.in_channels, self.out_channels = conv.in_channels, conv.out_channels
        self.kernel_size, self.stride, self.padding, self.dilation = geometry
        self.layer_id = entry_id
        self.layer, self.layout, self.template = spec.name, spec.layout, spec.template
        self.bias = conv.bias
        if keep_dense:
            self.weight = conv.weight

    def _raw(self, b):
        if HAS_CUSTOM_OP and _compiling():
            return torch.ops.spmmfarm.spmm_raw(b, self.bias, self.layer_id)
        return _spmm_raw(b, self.bias, self.layer_id)

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError("spmmfarm layer %s: input of shape %s, a convolution takes batch x %d x H x W"
                             % (self.layer, tuple(x.shape), self.in_channels))
        batch, _, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = self.kernel_size, self.stride, self.padding, self.dilation
        oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        ow = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
        if oh < 1 or ow < 1:
            raise ValueError("spmmfarm layer %s: a %d x %d input is smaller than the kernel's reach"
                             % (self.layer, h, w))
        if (kh, kw, sh, sw, ph, pw) == (1, 1, 1, 1, 0, 0):
            cols = x.reshape(batch, self.in_channels, h * w)  # a view of a contiguous input
        else:
            cols = torch.nn.functional.unfold(x, (kh, kw), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw))
        k, lanes = cols.shape[1], cols.shape[2]
        m = self.out_channels
        if self.layout == "nk":
            y = self._raw(cols.transpose(1, 2).reshape(batch * lanes, k))  # N x M
            return y.view(batch, lanes, m).transpose(1, 2).reshape(batch, m, oh, ow)
        b = cols[0] if batch == 1 else cols.permute(1, 0, 2).reshape(k, batch * lanes)
        c = self._raw(b)  # M x N
        if batch == 1:
            return c.view(1, m, oh, ow)
        return c.view(m, batch, lanes).permute(1, 0, 2).reshape(batch, m, oh, ow)

    def extra_repr(self):
        return "%d, %d, kernel_size=%s, stride=%s, padding=%s, dilation=%s, bias=%s, layer=%s, template=%s, " \
               "layout=%s" % (self.in_channels, self.out_channels, self.kernel_size, self.stride, self.padding,
                              self.dilation, self.bias is not None, self.layer, self.template, self.layout)


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
    the float32 values of its nonzeros), computed on the host; a 4-D
    convolution weight is hashed as its im2col matrix, as the C reader
    reads it."""
    import numpy
    w = weight.detach().to(device="cpu", dtype=torch.float32).contiguous()
    if w.dim() == 4:  # a convolution's: its im2col matrix O x I*kh*kw (docs/MATRICES.md 4.6)
        w = w.reshape(w.shape[0], -1)
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
    matched]; kind: the modules looked at ("nn.Linear", or "nn.Linear and
    nn.Conv2d" when the model has convolutions)."""

    def __init__(self, kind="nn.Linear"):
        self.replaced, self.dense, self.unused, self.kind = [], [], [], kind

    def __str__(self):
        lines = ["spmmfarm.torch.sparsify: %d %s sparse, %d dense, %d bundle layers unused"
                 % (len(self.replaced), self.kind, len(self.dense), len(self.unused))]
        lines += ["  sparse %s (%s, %s)" % (m, t, lay) for m, _, t, lay in self.replaced]
        lines += ["  dense  %s: %s" % d for d in self.dense]
        lines += ["  unused %s" % u for u in self.unused]
        return "\n".join(lines)


MIN_GAIN = 1.03


def _below_gain(spec, min_gain):
    """Why a layer whose kernel the farm measured within min_gain of the dense
    library stays on the library, or None (docs/DEPLOY.md "min_gain")."""
    gain = spec.gain_over_library()
    if not min_gain or gain is None or gain >= min_gain:
        return None
    return ("the farm measured its kernel at %.2fx of the dense library (%.2f against %.2f us), under min_gain "
            "%.2f: kept on cuBLAS" % (gain, spec.time_us, spec.library_us, min_gain))


def _unusable(spec, mod, bundle, check_weights, use_dense_kernels, min_gain=MIN_GAIN):
    """Why a module cannot take a bundle layer, or None."""
    w = mod.weight
    conv = isinstance(mod, torch.nn.Conv2d)
    if conv:
        geometry = _conv_geometry(mod)
        if isinstance(geometry, str):
            return geometry
        shape = (mod.out_channels, w[0].numel())
    else:
        shape = (mod.out_features, mod.in_features)
    if spec.template == "dense" and not (use_dense_kernels is True
                                         or (use_dense_kernels == "auto" and spec.dense_beats_library())):
        return "the farm found no kernel faster than the dense library for it: kept on cuBLAS"
    below = _below_gain(spec, min_gain)
    if below is not None:
        return below
    if shape != (spec.m, spec.k):
        return "shape %d x %d, the bundle's layer is %d x %d" % (shape + (spec.m, spec.k))
    if spec.relu:
        return "the bundle's kernel applies a ReLU, %s does not" % ("nn.Conv2d" if conv else "nn.Linear")
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
             device=None, allow_simulated=False, convs=True, min_gain=MIN_GAIN):
    """Replaces, in place, each nn.Linear (and, with convs, each nn.Conv2d:
    SparseConv2d, its im2col product) of model that bundle (a path or a
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
    elsewhere; True always takes it, False never. min_gain (default 1.03):
    a layer whose kernel the farm measured less than min_gain times faster
    than the tier's dense library (manifest library_us / time_us; measured
    bundles only) stays on the library: a win inside the timing's noise
    does not pay in a model (session 17: LLaMA at 70 %, T kept at 1.4-2.7 %
    over cuBLASLt, ran 0.99x end to end); None or 0 takes every kernel."""
    kinds = (torch.nn.Linear, torch.nn.Conv2d) if convs else (torch.nn.Linear,)
    linears = [(name, mod) for name, mod in model.named_modules() if isinstance(mod, kinds)]
    has_convs = any(isinstance(mod, torch.nn.Conv2d) for _, mod in linears)
    kind = "nn.Linear and nn.Conv2d" if has_convs else "nn.Linear"
    if not isinstance(bundle, Bundle):
        if device is None:  # the model's GPU
            device = next((m.weight.device for _, m in linears if m.weight.device.type == "cuda"), None)
        bundle = load(bundle, device=device, allow_simulated=allow_simulated)
    report = Report(kind)
    matched = set()
    for name, mod in linears:
        spec = bundle.spec.layer(_bundle.bundle_name(name + ".weight"))
        reason = "not in the bundle" if spec is None else _unusable(spec, mod, bundle, check_weights,
                                                                    use_dense_kernels, min_gain)
        if spec is not None:
            matched.add(spec.name)
        if reason is not None:
            report.dense.append((name, reason))
            continue
        entry = bundle.entry(spec)
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        if isinstance(mod, torch.nn.Conv2d):
            sparse = SparseConv2d(mod, entry, spec, _conv_geometry(mod), keep_dense=keep_dense)
        else:
            sparse = SparseLinear(mod, entry, spec, keep_dense=keep_dense)
        setattr(parent, child, sparse)
        report.replaced.append((name, spec.name, spec.template, spec.layout))
    report.unused = [layer.name for layer in bundle.spec.layers if layer.name not in matched]
    if report.dense:
        text = "%d of %d %s layers stay dense: %s" % (
            len(report.dense), len(linears), kind, "; ".join("%s (%s)" % d for d in report.dense[:8])
            + ("; and %d more" % (len(report.dense) - 8) if len(report.dense) > 8 else ""))
        if strict:
            raise ValueError("spmmfarm.torch.sparsify: " + text)
        _warn("spmmfarm: " + text)
    global _kn_warned
    if not _kn_warned and any(r[3] == "kn" and isinstance(model.get_submodule(r[0]), SparseLinear)
                              for r in report.replaced):
        _kn_warned = True
        _warn("spmmfarm: layers tuned in layout kn (B = X^T): each call transposes its input and its output "
              "around the kernel (two copies a layer); tune with `spmmfarm import --layout nk` to avoid them")
    return report



def model_manifest(model, example, directory, min_sparsity=0.5, precision="fp32", layout=None, name=None,
                   convs=True):
    """Writes what `spmmfarm local --model` tunes for this model at the
    size of `example` (a tensor, or a tuple of the forward's arguments):
    DIRECTORY/model.safetensors (the layers' weights) and
    DIRECTORY/manifest.json (docs/FARM.md "Model manifests"); returns the
    manifest's path. The model runs once on example (torch.no_grad), and
    forward hooks record what each layer gets: an nn.Linear's tokens (N =
    its input's elements / in_features), an nn.Conv2d's batch and input size
    (the manifest's `conv` field, from which the farm computes N). Layers:
    each nn.Linear and (with convs) each nn.Conv2d of groups 1 and zero
    padding whose weight has at least min_sparsity zeros, in the tier
    `precision` and one layout (a campaign has one): `layout`, by default
    kn when a convolution is taken (im2col's own K x N: no copy at batch
    1; the linear layers then transpose around their kernels), else nk
    (nn.Linear's own). A convolution's geometry
    lives in the model, not in a checkpoint: this is how a CNN is tuned
    (`spmmfarm import` takes the linear layers of a checkpoint)."""
    import json
    import os
    from spmmfarm import checkpoint as _checkpoint
    kinds = (torch.nn.Linear, torch.nn.Conv2d) if convs else (torch.nn.Linear,)
    seen, hooks, skipped = {}, [], []

    def hook(module_name):
        def record(mod, args):
            if module_name not in seen and args and torch.is_tensor(args[0]):
                seen[module_name] = tuple(args[0].shape)
        return record

    for mod_name, mod in model.named_modules():
        if isinstance(mod, kinds):
            hooks.append(mod.register_forward_pre_hook(hook(mod_name)))
    try:
        with torch.no_grad():
            model(*example) if isinstance(example, tuple) else model(example)
    finally:
        for h in hooks:
            h.remove()
    tensors, layers = {}, []
    for mod_name, mod in model.named_modules():
        if not isinstance(mod, kinds) or mod_name not in seen:
            continue
        w = mod.weight.detach()
        sparsity = float((w == 0).sum()) / w.numel()
        if sparsity < min_sparsity:
            continue
        if isinstance(mod, torch.nn.Conv2d):
            geometry = _conv_geometry(mod)
            if isinstance(geometry, str):
                skipped.append((mod_name, geometry))
                continue
            kernel, stride, padding, dilation = geometry
            shape = seen[mod_name]
            layer = {"conv": {"input": [shape[-2], shape[-1]], "batch": shape[0] if len(shape) == 4 else 1,
                              "kernel": list(kernel), "stride": list(stride), "padding": list(padding),
                              "dilation": list(dilation)}}
        else:
            tokens = 1
            for d in seen[mod_name][:-1]:
                tokens *= d
            if tokens < 1:
                skipped.append((mod_name, "no tokens in the example"))
                continue
            layer = {"n": tokens}
        tensor = mod_name + ".weight"
        tensors[tensor] = w.contiguous()
        layer = dict({"name": tensor, "file": "model.safetensors", "tensor": tensor,
                      "bias": mod.bias is not None, "sparsity": round(sparsity, 6)}, **layer)
        layers.append(layer)
    if not layers:
        raise ValueError("spmmfarm.torch.model_manifest: no layer with at least %g of its weights zero "
                         "(%d looked at)" % (min_sparsity, len(seen)))
    os.makedirs(directory, exist_ok=True)
    _checkpoint.save(tensors, os.path.join(directory, "model.safetensors"))
    if layout is None:
        layout = "kn" if any("conv" in layer for layer in layers) else "nk"
    doc = {"name": name or type(model).__name__, "precision": precision, "layout": layout, "layers": layers}
    path = os.path.join(directory, "manifest.json")
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, indent=2)
    os.replace(path + ".tmp", path)
    for mod_name, why in skipped:
        _warn("spmmfarm.torch.model_manifest: %s left out: %s" % (mod_name, why))
    return path
