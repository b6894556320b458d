#!/usr/bin/env python3
"""py_torch.py: spmmfarm.torch on real PyTorch without a GPU (run by
tests/py_torch.sh, which picks a Python that has torch).

A small model is pruned, written as a sharded checkpoint, imported, tuned
with `spmmfarm local` on the sim backend and, for kernels of template U,
compiled with `spmmfarm bundle create`; sparsify() then runs its real code:
manifest, names, content hashes (against `spmmfarm inspect`), checks and
refusals, module replacement and fallback warnings, and the launch path up to
libspmmfarm-rt and the CUDA driver, which is the fake driver of the tests
(tests/fake_libcuda.c: it records each launch and computes nothing; host
pointers stand in for device ones through spmmfarm.torch's test switch).

    SPMMFARM=./spmmfarm SPMMFARM_LIBCUDA=tests/.libs/libfakecudak.so python3 tests/py_torch.py WORKDIR
"""
import copy
import ctypes
import json
import os
import subprocess
import sys
import warnings

import torch

import spmmfarm.bundle as sb
import spmmfarm.checkpoint as sc
import spmmfarm.runtime as sr
import spmmfarm.torch as st
import spmmfarm_rt

WORK = sys.argv[1]
SPMMFARM = os.environ["SPMMFARM"]
FAKE = os.environ["SPMMFARM_LIBCUDA"]
U_CONFIG = "U:r32.v4.t64.g2.o1.m128.sim"
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print("ok - " + what)
    else:
        failed += 1
        print("FAIL - " + what)


def raises(exc, fn, needle=""):
    try:
        fn()
    except exc as e:
        return needle in str(e) or print("    message: %s" % e)
    except Exception as e:  # the wrong kind
        print("    raised %s: %s" % (type(e).__name__, e))
        return False
    return False


def run(*args):
    out = subprocess.run([SPMMFARM] + list(args), capture_output=True, text=True)
    if out.returncode:
        print(out.stdout[-2000:], out.stderr[-2000:])
    return out


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.q = torch.nn.Linear(32, 48)
        self.out = torch.nn.Linear(48, 32)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([Block(), Block()])
        self.head = torch.nn.Linear(32, 8)

    def forward(self, x):
        for b in self.layers:
            x = b.out(torch.relu(b.q(x)))
        return self.head(x)


def prune(model, sparsity):
    with torch.no_grad():
        for name, mod in model.named_modules():
            if isinstance(mod, torch.nn.Linear) and name != "head":
                w = mod.weight
                k = int(sparsity * w.numel())
                threshold = w.abs().flatten().kthvalue(k).values
                w[w.abs() <= threshold] = 0


class Launch(ctypes.Structure):  # tests/fake_libcuda.h
    _fields_ = [("count", ctypes.c_int), ("entry", ctypes.c_char * 128),
                ("grid", ctypes.c_uint * 3), ("block", ctypes.c_uint * 3), ("shared", ctypes.c_uint),
                ("stream", ctypes.c_void_p), ("ctx_device", ctypes.c_int),
                ("b", ctypes.c_uint64), ("c", ctypes.c_uint64), ("bias", ctypes.c_uint64),
                ("adata", ctypes.c_uint64), ("n", ctypes.c_uint32), ("func_max_shared", ctypes.c_int)]


def last_launch():
    last = Launch()
    ctypes.CDLL(FAKE).sf_fake_cuda_last_launch(ctypes.byref(last))
    return last


torch.manual_seed(0)
model = Model()
prune(model, 0.9)

# ---- bundle names and content hashes, against the C side ------------------
check(sb.bundle_name("layers.0.q.weight") == "layers.0.q.weight", "bundle_name keeps a plain name")
check(sb.bundle_name(".a/b c") == "_a_b_c", "bundle_name: a leading dot and other characters become _")
check(sb.bundle_name("x" * 70) == "x" * 63 and sb.bundle_name("") == "layer", "bundle_name: 63 bytes, 'layer'")
check(sb.bundle_name("é") == "__", "bundle_name works on UTF-8 bytes, as the C side")
single = os.path.join(WORK, "q0.safetensors")
sc.save({"w": model.layers[0].q.weight}, single)
out = run("inspect", single, "--tensor", "w", "--json")
check(out.returncode == 0 and json.loads(out.stdout)["hash"] == st.weight_hash(model.layers[0].q.weight),
      "weight_hash equals spmmfarm inspect's content hash")
bf = model.layers[0].q.weight.to(torch.bfloat16)
sc.save({"w": bf}, single)
out = run("inspect", single, "--tensor", "w", "--json")
check(out.returncode == 0 and json.loads(out.stdout)["hash"] == st.weight_hash(bf),
      "weight_hash of bfloat16 weights equals the C reader's (exact widening)")

# ---- checkpoint -> import -> local (sim): dense winners ---------------------
index = sc.save(model.state_dict(), os.path.join(WORK, "ck"), shard_bytes=8000)
check(index.endswith("model.safetensors.index.json") and len(os.listdir(os.path.join(WORK, "ck"))) > 2,
      "spmmfarm.checkpoint.save writes shards and an index")
manifest = os.path.join(WORK, "model.json")
out = run("import", index, "-o", manifest, "--tokens", "64", "--json")
check(out.returncode == 0 and json.loads(out.stdout)["layers"] == 4, "spmmfarm import takes the 4 pruned layers")
sim_bundle = os.path.join(WORK, "sim.bundle")
out = run("local", "--model", manifest, "--backend", "sim", "--max-configs", "2", "--store",
          os.path.join(WORK, "store"), "-o", sim_bundle, "--allow-simulated", "-q")
check(out.returncode == 0 and os.path.isdir(sim_bundle), "spmmfarm local tunes and exports (sim)")

st._TEST_HOST_POINTERS = True
spec = sb.read(sim_bundle)
check([l.name for l in spec.layers] == ["layers.0.out.weight", "layers.0.q.weight", "layers.1.out.weight",
                                        "layers.1.q.weight"], "the bundle's layers carry the tensors' names")
check(all(l.precision == "fp32" and l.layout == "kn" and l.dtype_b == "float32" and l.tol == 1e-5
          for l in spec.layers), "manifest: precision fp32, layout kn, float32 operands (defaults)")
check(raises(spmmfarm_rt.Error, lambda: st.load(sim_bundle), "simulat"),
      "a simulated bundle is refused unless allow_simulated")
m1 = copy.deepcopy(model)
with warnings.catch_warnings(record=True) as ws:
    warnings.simplefilter("always")
    rep = st.sparsify(m1, sim_bundle, allow_simulated=True)
templates = {l.template for l in spec.layers}
if templates == {"dense"}:
    check(not rep.replaced and len(rep.dense) == 5 and all("kept on cuBLAS" in r for n, r in rep.dense if n != "head"),
          "dense winners stay nn.Linear (cuBLAS) by default")
    check(any("5 of 5 nn.Linear layers stay dense" in str(w.message) for w in ws), "one warning lists them")
    m2 = copy.deepcopy(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = st.sparsify(m2, sim_bundle, allow_simulated=True, use_dense_kernels=True)
    check(len(rep.replaced) == 4 and isinstance(m2.layers[1].q, st.SparseLinear),
          "use_dense_kernels=True takes them (the bundle's generic dense kernel)")
else:
    print("# the sim search found sparse winners (%s): dense-winner checks skipped" % sorted(templates))

# "auto": a dense layer takes the bundle's own kernel only where the farm
# measured it faster than the tier's library (manifest time_us < library_us)
from spmmfarm.bundle import LayerSpec  # noqa: E402
rec = {"name": "fc", "m": 8, "k": 8, "n": 16, "template": "dense", "time_us": 72.0, "library_us": 117.0}
check(LayerSpec(rec, 0, False).dense_beats_library(), "own dense kernel measured faster than the library: taken")
check(not LayerSpec(dict(rec, library_us=60.0), 0, False).dense_beats_library(), "slower than the library: not taken")
check(not LayerSpec({k: v for k, v in rec.items() if k != "library_us"}, 0, False).dense_beats_library(),
      "no library time in the manifest (older bundles): not taken")
check(not LayerSpec(rec, 0, True).dense_beats_library(), "simulated times: not taken")

# min_gain: a kernel measured within min_gain of the dense library stays on it
trec = dict(rec, template="T", time_us=21.09, library_us=21.50)
check(abs(LayerSpec(trec, 0, False).gain_over_library() - 21.50 / 21.09) < 1e-12, "gain = library_us / time_us")
why = st._below_gain(LayerSpec(trec, 0, False), st.MIN_GAIN)
check(why is not None and "1.02x" in why and "kept on cuBLAS" in why, "1.9 %% faster: kept on the library (%s)" % why)
check(st._below_gain(LayerSpec(dict(trec, time_us=19.3), 0, False), st.MIN_GAIN) is None, "1.11x: taken")
check(st._below_gain(LayerSpec(trec, 0, False), None) is None, "min_gain None: taken")
check(st._below_gain(LayerSpec(trec, 0, True), st.MIN_GAIN) is None, "simulated times: the rule does not apply")
check(LayerSpec({k: v for k, v in trec.items() if k != "library_us"}, 0, False).gain_over_library() is None,
      "no library time (older bundles): no gain, the rule does not apply")

# ---- U kernels (bundle create): replacement, launches, checks ---------------
layers = []
for i in range(2):
    for part in ("q", "out"):
        name = "layers.%d.%s.weight" % (i, part)
        path = os.path.join(WORK, name + ".safetensors")
        sc.save({name: getattr(model.layers[i], part).weight}, path)
        layers.append("%s=%s:64:%s" % (name, path, U_CONFIG))
layers.append("unused.weight=%s:64:%s" % (os.path.join(WORK, "layers.0.q.weight.safetensors"), U_CONFIG))
u_bundle = os.path.join(WORK, "u.bundle")
out = run("bundle", "create", "--arch", "sm_90", "--bias", "-o", u_bundle, *layers)
check(out.returncode == 0, "bundle create: U kernels of the pruned weights")

m3 = copy.deepcopy(model)
st._kn_warned = False  # said once a process: again for this check
with warnings.catch_warnings(record=True) as ws:
    warnings.simplefilter("always")
    rep = st.sparsify(m3, u_bundle)
check([r[0] for r in rep.replaced] == ["layers.0.q", "layers.0.out", "layers.1.q", "layers.1.out"]
      and all(r[2] == "U" and r[3] == "kn" for r in rep.replaced), "four nn.Linear became SparseLinear (U, kn)")
check(rep.dense == [("head", "not in the bundle")] and rep.unused == ["unused.weight"],
      "the head stays dense (not in the bundle); the bundle's extra layer is reported unused")
msgs = [str(w.message) for w in ws if issubclass(w.category, st.SparsifyWarning)]
check(any("1 of 5 nn.Linear layers stay dense: head (not in the bundle)" in m for m in msgs),
      "a SparsifyWarning names the dense layer")
check(any("layout kn" in m and "transposes" in m for m in msgs), "the kn transposes are said")
q = m3.layers[0].q
check(isinstance(q, st.SparseLinear) and torch.equal(q.bias, model.layers[0].q.bias),
      "SparseLinear keeps the module's bias")
check(not hasattr(q, "weight"), "the dense weight is dropped (keep_dense=False)")
check("layer=layers.0.q.weight" in repr(q) and "template=U" in repr(q), "repr names the layer and template")

x = torch.randn(3, 5, 32)
y = q(x)
last = last_launch()
entry = st._ENTRIES[q.layer_id]
rt_layer = st._ENTRIES[q.layer_id].bundle.rt.layer("layers.0.q.weight")
check(tuple(y.shape) == (3, 5, 48) and y.dtype == torch.float32, "a call gives (3, 5, 48) float32")
check(last.entry.decode() == rt_layer.entry and last.n == 15 and tuple(last.grid) == rt_layer.grid(15),
      "the launch reached the driver: entry, N = 15 tokens, the runtime's grid")
check(last.bias == q.bias.data_ptr() and last.b not in (0, x.data_ptr()) and last.c != 0,
      "bias pointer is the module's; kn: B is a transposed copy of X")
check(sr.launcher()[1] == os.environ.get("EXPECT_LAUNCH", sr.launcher()[1]),
      "launch path: %s" % sr.launcher()[1])
count = last.count
check(tuple(q(torch.randn(0, 32)).shape) == (0, 48) and last_launch().count == count,
      "zero tokens: an empty result, no launch")
check(raises(TypeError, lambda: q(x.double()), "input dtype torch.float64"), "a float64 input is refused")
check(raises(ValueError, lambda: q(torch.randn(4, 31)), "K = 32"), "a wrong K is refused")
check(raises(ValueError, lambda: q(torch.randn(4, 32, device="meta")), "the bundle runs on"),
      "an input on another device is refused")
check(last_launch().count == count, "refused calls launch nothing")
check(raises(ValueError, lambda: st._spmm(x, None, q.layer_id), "adds a bias"),
      "a fused-bias kernel without its bias is refused")

# nk: the same kernels, the manifest saying nk, to check that X goes in as is
# (real nk kernels are another helper's; this checks the module's pointers).
nk_bundle = os.path.join(WORK, "nk.bundle")
subprocess.run(["cp", "-r", u_bundle, nk_bundle], check=True)
with open(os.path.join(nk_bundle, "manifest.json")) as f:
    doc = json.load(f)
for rec in doc["layers"]:
    rec["layout"] = "nk"
with open(os.path.join(nk_bundle, "manifest.json"), "w") as f:
    json.dump(doc, f)
m4 = copy.deepcopy(model)
try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = st.sparsify(m4, nk_bundle)
    xc = torch.randn(7, 32)
    y = m4.layers[1].q(xc)
    last = last_launch()
    check(rep.replaced[0][3] == "nk" and last.b == xc.data_ptr() and last.n == 7 and tuple(y.shape) == (7, 48)
          and last.c == y.data_ptr(), "nk: X and Y go to the kernel as they are (no copies)")
except spmmfarm_rt.Error as e:
    print("# the runtime refuses a manifest with a layout key (%s): nk pointer check skipped" % e)

# refusals that leave a layer dense, with the reason
m5 = copy.deepcopy(model)
with torch.no_grad():
    m5.layers[0].q.weight[0, 0] += 1.0
    m5.layers[1].out.bias = None
m5.layers[1].q = torch.nn.Linear(32, 40)
m5.layers[0].out.to(torch.float64)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    rep = st.sparsify(m5, u_bundle)
reasons = dict(rep.dense)
check("content hash differs" in reasons.get("layers.0.q", ""), "other weights than the tuned ones: dense")
check("shape 40 x 32" in reasons.get("layers.1.q", ""), "another shape: dense")
check("torch.float64" in reasons.get("layers.0.out", ""), "another dtype: dense, saying so")
check("adds a bias, the module has none" in reasons.get("layers.1.out", ""), "a missing bias: dense")
check(raises(ValueError, lambda: st.sparsify(copy.deepcopy(m5), u_bundle, strict=True), "stay dense"),
      "strict=True raises instead")
m6 = copy.deepcopy(model)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    st.sparsify(m6, u_bundle, keep_dense=True, check_weights=False)
check(torch.equal(m6.layers[0].q.weight, model.layers[0].q.weight), "keep_dense=True keeps the weight")
check(raises(ValueError, lambda: st.load(u_bundle, device="cpu") if not st._TEST_HOST_POINTERS else
             st._cuda_device("cpu"), "CUDA devices"), "a CPU device is refused")

# the operator: registered where torch has torch.library.custom_op
if st.HAS_CUSTOM_OP:
    op = torch.ops.spmmfarm.spmm
    from torch._subclasses.fake_tensor import FakeTensorMode
    with FakeTensorMode():
        fy = op(torch.empty(4, 9, 32), torch.empty(48), m3.layers[0].q.layer_id)
    check(tuple(fy.shape) == (4, 9, 48), "the fake kernel gives the output's shape (torch.compile)")
    yo = op(torch.randn(6, 32), m3.layers[0].q.bias, m3.layers[0].q.layer_id)
    check(tuple(yo.shape) == (6, 48) and last_launch().n == 6, "torch.ops.spmmfarm.spmm launches")
else:
    print("# torch %s has no torch.library.custom_op: spmmfarm::spmm is not registered (eager and CUDA graphs "
          "only); operator checks skipped" % torch.__version__)

# ---- convolutions: SparseConv2d's im2col, model_manifest, the farm, sparsify ---
# The im2col and layout arithmetic against nn.Conv2d itself: the launch is
# replaced by a product with the dense weight (the fake driver computes
# nothing), so what is checked is everything around the kernel.
class _Spec:
    def __init__(self, name, layout):
        self.name, self.layout, self.template = name, layout, "emulated"


_emulated = {}


def _emulate(b, bias, layer):
    w, layout = _emulated[layer]
    out = w @ b if layout == "kn" else b @ w.t()
    if bias is not None:
        out = out + (bias.view(-1, 1) if layout == "kn" else bias)
    return out


real_raw = st._spmm_raw
st._spmm_raw = _emulate
try:
    torch.manual_seed(1)
    shapes = [dict(in_channels=3, out_channels=8, kernel_size=3, padding=1),
              dict(in_channels=4, out_channels=6, kernel_size=3, stride=2, dilation=2),
              dict(in_channels=5, out_channels=7, kernel_size=1),
              dict(in_channels=5, out_channels=7, kernel_size=1, stride=2, bias=False),
              dict(in_channels=2, out_channels=4, kernel_size=(3, 1), padding=(1, 0)),
              dict(in_channels=3, out_channels=3, kernel_size=3, padding="same", bias=False)]
    worst, cases = 0.0, 0
    for i, kw in enumerate(shapes):
        if kw.get("padding") == "same" and not hasattr(torch.nn.Conv2d(1, 1, 3, padding="same"), "padding"):
            continue
        conv = torch.nn.Conv2d(**kw)
        for layout in ("kn", "nk"):
            _emulated[1000 + i] = (conv.weight.detach().reshape(conv.out_channels, -1), layout)
            sc2 = st.SparseConv2d(conv, 1000 + i, _Spec("conv%d" % i, layout), st._conv_geometry(conv))
            for batch in (1, 3):
                x = torch.randn(batch, conv.in_channels, 9, 7)
                with torch.no_grad():
                    want, got = conv(x), sc2(x)
                same_shape = got.shape == want.shape
                worst = max(worst, float((got - want).abs().max()) if same_shape else float("inf"))
                cases += 1
    check(cases >= 20 and worst < 1e-5, "SparseConv2d = nn.Conv2d through im2col: %d cases (stride, padding, "
          "dilation, 1 x 1, 'same', batch 1 and 3, kn and nk), max abs difference %.1e" % (cases, worst))
finally:
    st._spmm_raw = real_raw
check(st._conv_geometry(torch.nn.Conv2d(4, 4, 3, groups=2)).startswith("a grouped convolution"),
      "a grouped convolution is not taken (not one matrix product)")
check("padding mode" in st._conv_geometry(torch.nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect")),
      "reflect padding is not taken")


class Cnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = torch.nn.Conv2d(16, 32, 3, stride=2, padding=1, bias=False)
        self.conv3 = torch.nn.Conv2d(32, 32, 1)
        self.dw = torch.nn.Conv2d(32, 32, 3, padding=1, groups=32)
        self.fc = torch.nn.Linear(32, 10)

    def forward(self, x):
        x = torch.relu(self.conv1(x))
        x = torch.relu(self.conv3(self.conv2(x)))
        x = self.dw(x)
        return self.fc(x.mean(dim=(2, 3)))


torch.manual_seed(2)
cnn = Cnn()
with torch.no_grad():
    for mod in (cnn.conv1, cnn.conv2, cnn.conv3, cnn.dw, cnn.fc):
        w = mod.weight
        w[w.abs() <= w.abs().flatten().kthvalue(int(0.8 * w.numel())).values] = 0
with warnings.catch_warnings(record=True) as ws:
    warnings.simplefilter("always")
    cnn_manifest = st.model_manifest(cnn, torch.randn(2, 3, 8, 8), os.path.join(WORK, "cnn"))
with open(cnn_manifest) as f:
    doc = json.load(f)
by_name = {l["name"]: l for l in doc["layers"]}
check(sorted(by_name) == ["conv1.weight", "conv2.weight", "conv3.weight", "fc.weight"],
      "model_manifest: the pruned convolutions and the linear layer (the depthwise one left out)")
check(any("dw left out: a grouped convolution" in str(w.message) for w in ws), "... and it says why")
c2 = by_name["conv2.weight"]["conv"]
check(c2 == {"input": [8, 8], "batch": 2, "kernel": [3, 3], "stride": [2, 2], "padding": [1, 1],
             "dilation": [1, 1]} and by_name["conv3.weight"]["conv"]["input"] == [4, 4],
      "model_manifest: each convolution's input size, batch and geometry, as the example ran")
check(by_name["fc.weight"]["n"] == 2 and doc["layout"] == "kn" and not by_name["conv2.weight"]["bias"]
      and by_name["conv1.weight"]["bias"], "model_manifest: a linear layer's tokens; layout kn (convolutions "
      "taken); biases")
cnn_bundle = os.path.join(WORK, "cnn.bundle")
out = run("local", "--model", cnn_manifest, "--backend", "sim", "--max-configs", "2", "--store",
          os.path.join(WORK, "cnn-store"), "-o", cnn_bundle, "--allow-simulated", "-q")
check(out.returncode == 0 and os.path.isdir(cnn_bundle), "spmmfarm local tunes the CNN's manifest (sim)")
cspec = sb.read(cnn_bundle) if os.path.isdir(cnn_bundle) else None
if cspec is not None:
    ns = {l.name: (l.m, l.k, l.n) for l in cspec.layers}
    check(ns.get("conv1.weight") == (16, 27, 128) and ns.get("conv2.weight") == (32, 144, 32)
          and ns.get("conv3.weight") == (32, 32, 32), "the bundle's conv layers: O x I*kh*kw at N = batch x "
          "out_h x out_w (%s)" % ns)
    m7 = copy.deepcopy(cnn)
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        rep = st.sparsify(m7, cnn_bundle, allow_simulated=True, use_dense_kernels=True)
    check(isinstance(m7.conv1, st.SparseConv2d) and isinstance(m7.conv2, st.SparseConv2d)
          and isinstance(m7.conv3, st.SparseConv2d) and isinstance(m7.fc, st.SparseLinear),
          "sparsify: three nn.Conv2d became SparseConv2d, the nn.Linear a SparseLinear")
    check(("dw", "not in the bundle") in rep.dense and "nn.Linear and nn.Conv2d" in str(rep),
          "the depthwise convolution stays dense; the report names both kinds")
    check(not any("transposes" in str(w.message) for w in ws), "no transpose warning for kn convolutions")
    x = torch.randn(2, 3, 8, 8)
    y = m7.conv1(x)
    last = last_launch()
    check(tuple(y.shape) == (2, 16, 8, 8) and last.n == 128, "a conv call: (2, 16, 8, 8), one launch at N = 128")
    y = m7.conv3(torch.randn(1, 32, 4, 4))
    last = last_launch()
    check(tuple(y.shape) == (1, 32, 4, 4) and last.n == 16 and last.c == y.data_ptr(),
          "1 x 1 at batch 1 (kn): C is the output itself, no copy")
    check(raises(ValueError, lambda: m7.conv2(torch.randn(2, 15, 8, 8)), "batch x 16 x H x W"),
          "a wrong channel count is refused")
    check(tuple(m7(torch.randn(2, 3, 8, 8)).shape) == (2, 10), "the sparsified CNN runs end to end (fake driver)")

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
