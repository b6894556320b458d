"""spmmfarm.bundle: what a kernel bundle's manifest says about its layers,
read in pure Python (no library, no GPU, no torch): names, shapes, the
precision tier and activation layout, the dtypes of A, B and C, the content
hash of the weights each kernel was tuned for (docs/BUNDLES.md).

    spec = spmmfarm.bundle.read("bert.bundle")
    layer = spec.layer("encoder.layer.0.attention.self.query.weight")
    layer.m, layer.k, layer.precision, layer.layout, layer.dtype_b, layer.matrix
"""
import hashlib
import json
import os
import re
import struct

__all__ = ["TIERS", "BundleSpec", "LayerSpec", "read", "bundle_name", "csr_hash"]

# Precision tiers (common/sf_tier.h): the dtype of A, B and C, and the
# verification bound (normwise relative error) a tuned kernel met.
TIERS = {
    "fp32": ("float32", 1e-5),
    "tf32": ("float32", 2e-3),
    "bf16": ("bfloat16", 1e-2),
    "fp16": ("float16", 1e-2),
}
LAYOUTS = ("kn", "nk")
DTYPES = ("float32", "bfloat16", "float16")
_NAME_MAX = 63
_NAME_OK = re.compile(rb"[A-Za-z0-9_.\-]")


class FormatError(ValueError):
    """A manifest that this package cannot use (the message names the field)."""


def bundle_name(text):
    """A layer's name as a bundle names it (spmmfarm export's rule,
    sf_export_layer_name): every byte outside [A-Za-z0-9_.-] and a leading
    '.' become '_', cut to 63 bytes; "layer" when empty."""
    out = bytearray()
    for i, byte in enumerate(text.encode("utf-8")):
        if len(out) == _NAME_MAX:
            break
        ch = bytes([byte])
        out += ch if _NAME_OK.match(ch) and not (i == 0 and ch == b".") else b"_"
    return out.decode("ascii") if out else "layer"


def csr_hash(rows, cols, row_ptr, col_idx, values):
    """spmmfarm's content hash of a matrix (sf_matrix_hash): SHA-256 of
    "spmmfarm-csr-v1\\0", rows, cols, nnz, the row offsets, the column
    indices and the float32 value bits, each a little-endian uint32.
    row_ptr, col_idx and values are bytes of little-endian uint32/int32 and
    float32 arrays (rows + 1, nnz, nnz elements)."""
    nnz = len(col_idx) // 4
    h = hashlib.sha256(b"spmmfarm-csr-v1\0")
    h.update(struct.pack("<III", rows, cols, nnz))
    h.update(row_ptr)
    h.update(col_idx)
    h.update(values)
    return h.hexdigest()


def _dtype(rec, which, default, where):
    """The dtype of operand `which` ("a", "b" or "c"): the layer's own word for
    it when the manifest has one ("dtypes": {"a": ...}, or "dtype_a"), else
    the tier's."""
    value = None
    dtypes = rec.get("dtypes")
    if isinstance(dtypes, dict):
        value = dtypes.get(which, dtypes.get(which.upper()))
    for key in ("dtype_" + which, which + "_dtype"):
        if value is None and key in rec:
            value = rec[key]
    if value is None:
        return default
    if value not in DTYPES:
        raise FormatError("%s: dtype of %s: %r, expected one of %s" % (where, which.upper(), value, ", ".join(DTYPES)))
    return value


class LayerSpec:
    """One layer of a bundle manifest. Attributes: name, m, k, n (tuned N),
    template ("U", "D", "dense"), config, bias, relu, precision, layout,
    dtype_a, dtype_b, dtype_c, tol (the tier's bound), matrix (content hash
    of A or None), verified_error, time_us, library_us (the tier's dense
    library measured beside it, or None), simulated."""

    def __init__(self, rec, index, simulated):
        where = "layers[%d]" % index
        try:
            self.name = rec["name"]
            self.m, self.k, self.n = int(rec["m"]), int(rec["k"]), int(rec["n"])
            self.template = rec["template"]
        except (KeyError, TypeError, ValueError) as e:
            raise FormatError("%s: needs name, m, k, n and template (%s)" % (where, e)) from None
        where = "layers[%d] (%s)" % (index, self.name)
        self.config = rec.get("config", "")
        self.bias, self.relu = bool(rec.get("bias")), bool(rec.get("relu"))
        self.precision = rec.get("precision", "fp32")
        if self.precision not in TIERS:
            raise FormatError("%s: precision %r, expected one of %s" % (where, self.precision, ", ".join(TIERS)))
        self.layout = rec.get("layout", "kn")
        if self.layout not in LAYOUTS:
            raise FormatError("%s: layout %r, expected kn or nk" % (where, self.layout))
        base, self.tol = TIERS[self.precision]
        self.dtype_a = _dtype(rec, "a", base, where)
        self.dtype_b = _dtype(rec, "b", base, where)
        self.dtype_c = _dtype(rec, "c", base, where)
        self.matrix = rec.get("matrix")
        self.verified_error = rec.get("verified_error")
        self.time_us = rec.get("time_us")
        self.library_us = rec.get("library_us")
        self.simulated = bool(rec.get("simulated", simulated))

    def gain_over_library(self):
        """library_us / time_us where the farm measured both (not simulated),
        else None: how much faster than the tier's dense library this layer's
        kernel ran in the search."""
        t, lib = self.time_us, self.library_us
        if self.simulated or not isinstance(t, (int, float)) or not isinstance(lib, (int, float)) or t <= 0 or lib <= 0:
            return None
        return lib / t

    def dense_beats_library(self):
        """True when the farm measured this dense layer's own kernel (time_us)
        faster than the tier's library (library_us) in the same run."""
        t, lib = self.time_us, self.library_us
        return (self.template == "dense" and not self.simulated and isinstance(t, (int, float))
                and isinstance(lib, (int, float)) and 0 < t < lib)

    def __repr__(self):
        return "<LayerSpec %s %s %dx%d N=%d %s %s>" % (self.name, self.template, self.m, self.k, self.n,
                                                      self.precision, self.layout)


class BundleSpec:
    """A bundle's manifest: path, gpu_type, compute_capability, simulated,
    layers (in order), layer(name)."""

    def __init__(self, path, manifest):
        self.path = path
        if not isinstance(manifest, dict) or manifest.get("format") != "spmmfarm-bundle":
            raise FormatError("%s: not a spmmfarm bundle manifest" % path)
        gpu = manifest.get("gpu") or {}
        self.gpu_type = gpu.get("type", "")
        self.compute_capability = gpu.get("compute_capability", "")
        self.simulated = bool(manifest.get("simulated"))
        records = manifest.get("layers")
        if not isinstance(records, list) or not records:
            raise FormatError("%s: layers: a non-empty list is required" % path)
        self.layers = [LayerSpec(r, i, self.simulated) for i, r in enumerate(records)]
        self._by_name = {layer.name: layer for layer in self.layers}

    def layer(self, name):
        """The layer called name (a bundle name), or None."""
        return self._by_name.get(name)

    def __repr__(self):
        return "<BundleSpec %s: %d layers for %s>" % (self.path, len(self.layers), self.gpu_type)


def read(path):
    """The manifest of the bundle directory path (FormatError, OSError)."""
    with open(os.path.join(path, "manifest.json"), encoding="utf-8") as f:
        try:
            manifest = json.load(f)
        except ValueError as e:
            raise FormatError("%s/manifest.json: %s" % (path, e)) from None
    return BundleSpec(path, manifest)
