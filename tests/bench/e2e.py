#!/usr/bin/env python3
"""e2e.py: end-to-end benchmark of issue 23: a pruned PyTorch model, dense
against sparsified with spmmfarm, the same run, both under CUDA graphs.

For each model, precision tier and sparsity:
  1. the model, random init (seeded), every nn.Linear weight pruned by
     magnitude to the sparsity, in the tier's dtype, on the GPU;
  2. its state dict written as a safetensors checkpoint (LLaMA: sharded, with
     its index), `spmmfarm import` (--tokens N, --precision, --layout) and
     `spmmfarm local --model` tune it and export a bundle;
  3. a copy sparsified with spmmfarm.torch.sparsify(model, bundle);
  4. median latency (CUDA events around single graph replays) of the dense
     model, the sparse one and torch.compile(dense) as a peer row, all three
     captured as CUDA graphs; outputs compared with the dense model's; and
     the linear-free model (every linear layer the import took returns a
     buffer at no cost: linear_free_ms, speedup_bound = dense_ms over it,
     what no linear kernel can beat; --no-floor skips it).
Writes OUT/MODEL-PRECISION-SPARSITY.json with model, precision, sparsity,
batch, tokens, dense_ms, sparse_ms, compile_ms, speedup, max_rel_err, fro_rel_err (and
more: within_tol, the tuning's cost, which layers ran sparse); a config
that fails is written as OUT/failed-....json with its error, one that
--deadline left out as OUT/skipped-....json with the reason.

--deadline S (seconds from the start): a configuration is started only
while its estimated cost (--estimate MODEL:TIER=S, defaults below) fits in
what is left, and the torch.compile row only while --compile-margin
seconds are left after it, so that one device call ends in time with
every finished row written; a row's tuning that runs past the deadline
less --tune-reserve is stopped (its process group) and written as
OUT/skipped-....json ("deadline during tuning"): what it measured stays in
the store, and a rerun with the same --work answers those layers from it.

Models: bert (HF transformers BertModel, bert-base config, batch 32 x 128
tokens: N = 4096) and llama (a LLaMA-2-7B-shaped decoder stack written here:
4 layers, hidden 4096, FFN 11008, 32 heads; one decode step of batch 16 over
a 512-token KV cache: N = 16). --dry-run: small shapes on the CPU, the sim
backend and the tests' fake CUDA driver (SPMMFARM_LIBCUDA), no timing: the
plumbing only (tests/py_e2e.sh).

    SPMMFARM=.../spmmfarm SPMMFARM_RT_LIB=.../libspmmfarm-rt.so.0 \\
        python3 tests/bench/e2e.py --out docs/bench/h100/e2e [--only bert:fp32:0.9]
"""
import argparse
import copy
import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import traceback
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import spmmfarm.checkpoint  # noqa: E402
import spmmfarm.torch as sft  # noqa: E402
from spmmfarm.bundle import TIERS  # noqa: E402

ATTN = None  # --bert-attn
BERT_LAYERS = 12  # --bert-layers
DTYPES = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


# ---- models -------------------------------------------------------------------

def _attention(q, k, v):
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v)
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])  # torch < 2.0
    return scores.float().softmax(-1).to(q.dtype) @ v


class RMSNorm(torch.nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        v = x.float().pow(2).mean(-1, keepdim=True)
        return (x.float() * torch.rsqrt(v + self.eps)).to(x.dtype) * self.weight


class Attention(torch.nn.Module):
    """LLaMA attention for one decode step over a static KV cache (buffers
    of context + 1 tokens: the past `context` ones, and the slot this step
    writes in place, as Hugging Face's StaticCache and serving engines do),
    rotary embedding at position `context`. Until session 16 each step
    concatenated the cache with the new token (torch.cat: a copy of the
    whole cache a layer, 134 MB at batch 16 and 512 tokens), which no
    serving stack does and which inflated the dense and the sparse step
    alike."""

    def __init__(self, hidden, heads, batch, context):
        super().__init__()
        self.heads, self.dim = heads, hidden // heads
        self.q_proj = torch.nn.Linear(hidden, hidden, bias=False)
        self.k_proj = torch.nn.Linear(hidden, hidden, bias=False)
        self.v_proj = torch.nn.Linear(hidden, hidden, bias=False)
        self.o_proj = torch.nn.Linear(hidden, hidden, bias=False)
        self.context = context
        self.register_buffer("k_cache", torch.randn(batch, heads, context + 1, self.dim) * 0.5, persistent=False)
        self.register_buffer("v_cache", torch.randn(batch, heads, context + 1, self.dim) * 0.5, persistent=False)
        inv = 1.0 / (10000 ** (torch.arange(0, self.dim, 2).float() / self.dim))
        angle = context * inv
        self.register_buffer("cos", torch.cat([angle.cos(), angle.cos()]), persistent=False)
        self.register_buffer("sin", torch.cat([angle.sin(), angle.sin()]), persistent=False)

    def _rope(self, x):
        half = x.shape[-1] // 2
        rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
        return x * self.cos.to(x.dtype) + rotated * self.sin.to(x.dtype)

    def forward(self, x):
        b, t, h = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.heads, self.dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.heads, self.dim).transpose(1, 2)
        q, k = self._rope(q), self._rope(k)
        at = slice(self.context, self.context + t)
        self.k_cache[:, :, at].copy_(k)
        self.v_cache[:, :, at].copy_(v)
        o = _attention(q, self.k_cache, self.v_cache)
        return self.o_proj(o.transpose(1, 2).reshape(b, t, h))


class MLP(torch.nn.Module):
    def __init__(self, hidden, ffn):
        super().__init__()
        self.gate_proj = torch.nn.Linear(hidden, ffn, bias=False)
        self.up_proj = torch.nn.Linear(hidden, ffn, bias=False)
        self.down_proj = torch.nn.Linear(ffn, hidden, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(torch.nn.Module):
    def __init__(self, hidden, heads, ffn, batch, context):
        super().__init__()
        self.input_layernorm = RMSNorm(hidden)
        self.self_attn = Attention(hidden, heads, batch, context)
        self.post_attention_layernorm = RMSNorm(hidden)
        self.mlp = MLP(hidden, ffn)

    def forward(self, x):
        x = x + self.self_attn(self.input_layernorm(x))
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaStack(torch.nn.Module):
    """LLaMA-2-7B's decoder layers (names as Hugging Face's LlamaModel has
    them: layers.0.self_attn.q_proj...), hidden states in and out."""

    def __init__(self, layers, hidden, heads, ffn, batch, context):
        super().__init__()
        self.layers = torch.nn.ModuleList([DecoderLayer(hidden, heads, ffn, batch, context) for _ in range(layers)])
        self.norm = RMSNorm(hidden)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.norm(x)


def _init(model, std=0.02):
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.Linear):
                mod.weight.normal_(0.0, std)
                if mod.bias is not None:
                    mod.bias.normal_(0.0, std)


def make_llama(dry, device):
    shape = dict(layers=2, hidden=64, heads=4, ffn=172, batch=2, context=16) if dry else \
        dict(layers=4, hidden=4096, heads=32, ffn=11008, batch=16, context=512)
    model = LlamaStack(**shape)
    _init(model)
    x = torch.randn(shape["batch"], 1, shape["hidden"])
    return model, (x,), dict(batch=shape["batch"], tokens=shape["batch"], context=shape["context"],
                             layers=shape["layers"], step="decode")


def make_bert(dry, device):
    from transformers import BertConfig, BertModel
    if dry:
        config = BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128,
                            vocab_size=1000, max_position_embeddings=64)
        batch, seq = 2, 16
    else:
        config = BertConfig(num_hidden_layers=BERT_LAYERS)  # bert-base: 768 hidden, 12 layers, 12 heads, FFN 3072
        batch, seq = 32, 128
    if ATTN:  # --bert-attn: e.g. eager, where SDPA's mask handling cannot be captured
        config._attn_implementation = ATTN
    model = BertModel(config)
    ids = torch.randint(0, config.vocab_size, (batch, seq))
    return model, (ids,), dict(batch=batch, tokens=batch * seq, seq=seq, layers=config.num_hidden_layers,
                               step="forward")


MODELS = {"bert": ("bert-base", make_bert, False), "llama": ("llama2-7b-4layers", make_llama, True)}


def prune_(model, sparsity):
    """Magnitude pruning of every nn.Linear weight to `sparsity` (per weight)."""
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.Linear):
                w = mod.weight
                k = int(round(sparsity * w.numel()))
                if k > 0:
                    threshold = w.abs().flatten().float().kthvalue(k).values.to(w.dtype)
                    w[w.abs() <= threshold] = 0


# ---- timing ---------------------------------------------------------------------

class _NoLinear(torch.nn.Module):
    """A linear layer's output at no cost (one buffer, written once): the
    model around it is what is left to time."""

    def __init__(self, out_features):
        super().__init__()
        self.out_features, self.buf = out_features, None

    def forward(self, x):
        shape = tuple(x.shape[:-1]) + (self.out_features,)
        if self.buf is None or tuple(self.buf.shape) != shape or self.buf.dtype != x.dtype or self.buf.device != x.device:
            self.buf = torch.zeros(shape, dtype=x.dtype, device=x.device)
        return self.buf


def linear_free(dense, report):
    """A copy of dense whose linear layers that the import took (sparse or
    left dense by sparsify) cost nothing: its time is the end-to-end bound's
    floor (what no linear kernel can remove). Returns (model, layers)."""
    floor = copy.deepcopy(dense)
    names = sorted({r[0] for r in report.replaced} | {d[0] for d in report.dense})
    done = 0
    for name in names:
        try:
            mod = floor.get_submodule(name)
        except AttributeError:
            continue
        if not isinstance(mod, torch.nn.Linear):
            continue
        parent, _, leaf = name.rpartition(".")
        setattr(floor.get_submodule(parent) if parent else floor, leaf, _NoLinear(mod.out_features))
        done += 1
    return floor, done


def graph_ms(fn, reps, warmup=3):
    """Captures fn() as a CUDA graph; returns (median ms of single replays, output)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(warmup):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn()
    for _ in range(warmup):
        graph.replay()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times), _first(out)


def _first(out):
    if isinstance(out, torch.Tensor):
        return out
    if hasattr(out, "last_hidden_state"):
        return out.last_hidden_state
    return out[0]


def rel_err(got, want):
    """Normwise (max-norm) relative error of got against want, in float64."""
    g, w = got.double(), want.double()
    return float((g - w).abs().max() / w.abs().max().clamp_min(1e-30))


def fro_rel_err(got, want):
    """Normwise (2-norm) relative error of got against want, in float64: the
    tolerance's measure (docs/DECISIONS.md "An end-to-end output's error"). The
    max-norm error of one element is a 16-bit rounding's at the largest output:
    torch.compile's dense bf16 LLaMA differs from eager's by 1.15e-2 in it."""
    g, w = got.double(), want.double()
    return float((g - w).norm() / w.norm().clamp_min(1e-30))


def fp32_reference(dense, inputs):
    """The dense model's output in fp32 (a float copy of it, eager), or None when
    it does not fit: the 16-bit tiers' reference for how far each of dense and
    sparse is from the exact product."""
    import copy
    try:
        ref = copy.deepcopy(dense).float()
        out = _first(ref(*[x.float() if torch.is_floating_point(x) else x for x in inputs]))
        del ref
        return out
    except (RuntimeError, TypeError) as e:  # out of memory, a cache of another type
        return "%s: %s" % (type(e).__name__, str(e)[:200])


# ---- one configuration ---------------------------------------------------------------

class DeadlineCut(Exception):
    """A command stopped because --deadline came first (its work so far is in the store)."""


def run_cmd(args, what, log, timeout=None):
    """Runs args; with timeout (seconds) its whole process group (local's
    workers too) gets SIGTERM when it passes, SIGKILL 10 s later, and
    DeadlineCut is raised."""
    t0 = time.time()
    if timeout is not None and timeout <= 0:
        raise DeadlineCut("%s not started: the deadline has passed" % what)
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stdout = stderr = ""
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass  # the group ended meanwhile: communicate reaps it
            try:
                stdout, stderr = p.communicate(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                pass
        log.write("$ %s\n%s%s(stopped at the deadline after %.1f s)\n" % (" ".join(args), (stdout or "")[-4000:],
                                                                          (stderr or "")[-4000:], time.time() - t0))
        log.flush()
        raise DeadlineCut("%s stopped at the deadline after %.0f s" % (what, time.time() - t0))
    log.write("$ %s\n%s%s(exit %d, %.1f s)\n" % (" ".join(args), stdout[-4000:], stderr[-4000:],
                                                  p.returncode, time.time() - t0))
    log.flush()
    if p.returncode != 0:
        raise RuntimeError("%s failed (exit %d): %s" % (what, p.returncode, (stderr or stdout)[-1500:]))
    return stdout, time.time() - t0


def run_config(a, model_key, tier, sparsity, log):
    name, make, sharded = MODELS[model_key]
    dtype = DTYPES[tier]
    device = torch.device("cpu" if a.dry_run else "cuda")
    torch.manual_seed(a.seed)
    dense, inputs, shape = make(a.dry_run, device)
    dense = dense.eval()
    prune_(dense, sparsity)
    dense = dense.to(device=device, dtype=dtype)
    inputs = tuple(x.to(device=device, dtype=dtype if x.is_floating_point() else x.dtype) for x in inputs)
    tag = "%s-%s-%g" % (model_key, tier, sparsity)
    work = os.path.join(a.work, tag)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    # checkpoint -> import -> local
    ckpt = spmmfarm.checkpoint.save(dense.state_dict(), os.path.join(work, "ckpt") if sharded
                                    else os.path.join(work, "model.safetensors"),
                                    shard_bytes=(1 << 30 if not a.dry_run else 1 << 16) if sharded else None)
    manifest, bundle = os.path.join(work, "model.json"), os.path.join(work, "model.bundle")
    run_cmd([a.spmmfarm, "import", ckpt, "-o", manifest, "--tokens", str(shape["tokens"]), "--precision", tier,
             "--layout", a.layout, "--min-sparsity", str(a.min_sparsity), "--name", tag], "spmmfarm import", log)
    local = [a.spmmfarm, "local", "--model", manifest, "-o", bundle, "--store", a.store, "--json", "-q"]
    local += ["--backend", "sim", "--max-configs", "2", "--allow-simulated"] if a.dry_run else a.local_args.split()
    # with --deadline, tuning stops in time for the rest of the row (--tune-reserve s)
    tune_timeout = a.deadline - (time.time() - T0) - a.tune_reserve if a.deadline else None
    tune_text, tune_s = run_cmd(local, "spmmfarm local", log, timeout=tune_timeout)
    tune = json.loads(tune_text)
    # sparsify a copy
    sparse = copy.deepcopy(dense)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = sft.sparsify(sparse, bundle, allow_simulated=a.dry_run, use_dense_kernels=True if a.dry_run else "auto")
    for w in caught:
        log.write("warning: %s\n" % w.message)
    result = dict(model=name + ("-dry-run" if a.dry_run else ""), precision=tier, sparsity=sparsity, batch=shape["batch"], tokens=shape["tokens"],
                  step=shape["step"], layout=a.layout, gpu=None, dry_run=a.dry_run,
                  linear_layers=len(report.replaced) + len(report.dense), sparse_layers=len(report.replaced),
                  dense_layers=[d[0] for d in report.dense][:200],
                  tuning=dict(wall_s=round(tune_s, 1), gpu_type=tune.get("gpu_type"), strategy=tune.get("strategy"),
                              local_args=a.local_args if not a.dry_run else "--backend sim --max-configs 2",
                              templates={t: sum(1 for l in tune["layers"] if l["template"] == t)
                                         for t in sorted({l["template"] for l in tune["layers"]})}),
                  tol=TIERS[tier][1], launch=sft._runtime.launcher()[1], torch=torch.__version__)
    if hasattr(dense, "config"):
        result["attention"] = getattr(dense.config, "_attn_implementation", None)
    for key in ("context", "seq", "layers"):
        if key in shape:
            result[key] = shape[key]
    with torch.inference_mode():
        if a.dry_run:  # the fake driver computes nothing: shapes only, no timing
            out_d, out_s = _first(dense(*inputs)), _first(sparse(*inputs))
            if out_d.shape != out_s.shape:
                raise RuntimeError("sparse output %s, dense %s" % (tuple(out_s.shape), tuple(out_d.shape)))
            floor, n_free = linear_free(dense, report)
            out_f = _first(floor(*inputs))
            if out_f.shape != out_d.shape or n_free != result["linear_layers"]:
                raise RuntimeError("linear-free model: output %s, %d of %d linear layers"
                                   % (tuple(out_f.shape), n_free, result["linear_layers"]))
            result.update(dense_ms=None, sparse_ms=None, compile_ms=None, speedup=None, max_rel_err=None,
                          fro_rel_err=None, output_shape=list(out_s.shape), linear_free_layers=n_free)
            return tag, result
        torch.backends.cuda.matmul.allow_tf32 = tier == "tf32"
        torch.backends.cudnn.allow_tf32 = tier == "tf32"
        result["gpu"] = torch.cuda.get_device_name()
        try:
            dense_ms, out_d = graph_ms(lambda: dense(*inputs), a.reps)
        except RuntimeError as e:  # e.g. an attention implementation that syncs the host
            if not hasattr(dense, "config") or result.get("attention") == "eager":
                raise
            log.write("capture failed with attention %s (%s): eager attention\n" % (result.get("attention"), e))
            dense.config._attn_implementation = sparse.config._attn_implementation = "eager"
            result["attention"] = "eager (capture failed with %s)" % result.get("attention")
            dense_ms, out_d = graph_ms(lambda: dense(*inputs), a.reps)
        sparse_ms, out_s = graph_ms(lambda: sparse(*inputs), a.reps)
        result.update(dense_ms=round(dense_ms, 4), sparse_ms=round(sparse_ms, 4),
                      speedup=round(dense_ms / sparse_ms, 3), max_rel_err=rel_err(out_s, out_d),
                      fro_rel_err=fro_rel_err(out_s, out_d))
        result["within_tol"] = result["fro_rel_err"] <= result["tol"]
        if tier in ("bf16", "fp16"):  # each of dense and sparse against the exact product
            ref = fp32_reference(dense, inputs)
            if isinstance(ref, str):
                result["fp32_ref_error"] = ref
            else:
                result.update(dense_vs_fp32_fro=fro_rel_err(out_d, ref), sparse_vs_fp32_fro=fro_rel_err(out_s, ref))
        if shape["step"] == "decode":
            result["dense_tokens_per_s"] = round(shape["batch"] / dense_ms * 1e3, 1)
            result["sparse_tokens_per_s"] = round(shape["batch"] / sparse_ms * 1e3, 1)
        if not a.no_floor:  # the bound: the same model with its tuned linear layers at zero cost
            floor, n_free = linear_free(dense, report)
            floor_ms, _ = graph_ms(lambda: floor(*inputs), a.reps)
            result.update(linear_free_ms=round(floor_ms, 4), linear_free_layers=n_free,
                          speedup_bound=round(dense_ms / floor_ms, 3) if floor_ms > 0 else None)
            del floor
        if tier == "fp32":  # PyTorch's TF32 as information (the bar)
            torch.backends.cuda.matmul.allow_tf32 = True
            result["dense_tf32_ms"] = round(graph_ms(lambda: dense(*inputs), a.reps)[0], 4)
            torch.backends.cuda.matmul.allow_tf32 = False
        result["compile_ms"] = None
        left = a.deadline - (time.time() - T0) if a.deadline else None
        if not a.no_compile and left is not None and left < a.compile_margin:
            result["compile_error"] = "skipped: %.0f s left before the deadline, the row needs about %.0f" % (
                left, a.compile_margin)
        elif not a.no_compile:
            try:
                t0 = time.time()
                compiled = torch.compile(dense)
                compile_ms, out_c = graph_ms(lambda: compiled(*inputs), a.reps)
                result.update(compile_ms=round(compile_ms, 4), compile_wall_s=round(time.time() - t0, 1),
                              compile_rel_err=rel_err(out_c, out_d), compile_fro_rel_err=fro_rel_err(out_c, out_d))
            except Exception as e:  # a peer row: its failure is recorded, not fatal
                result["compile_error"] = "%s: %s" % (type(e).__name__, str(e)[:500])
        if a.sparse_compile and sft.HAS_CUSTOM_OP:
            try:
                compiled = torch.compile(sparse)
                ms, out_sc = graph_ms(lambda: compiled(*inputs), a.reps)
                result.update(sparse_compile_ms=round(ms, 4), sparse_compile_rel_err=rel_err(out_sc, out_d),
                              sparse_compile_fro_rel_err=fro_rel_err(out_sc, out_d))
            except Exception as e:
                result["sparse_compile_error"] = "%s: %s" % (type(e).__name__, str(e)[:500])
    return tag, result


T0 = time.time()
# Expected seconds of one configuration on the H100 (tuning with the default
# --local-args of e2e-run.sh, checkpoint, sparsify, timing, torch.compile);
# estimates, not measurements: --estimate overrides them. Session 19 measured
# llama:bf16 at 263 s (159 s of tuning, 28 layers) and bert:bf16 at more than
# 430 s (73 layers at N = 4096: its tuning did not end within the deadline);
# with a cold store bert:bf16 needs two calls on one warm machine (the store
# under WORK stays, the second run answers the layers done from it).
ESTIMATES = {"bert:fp32": 200, "bert:bf16": 540, "bert:tf32": 200, "bert:fp16": 540,
             "llama:bf16": 270, "llama:fp16": 270, "llama:fp32": 150, "llama:tf32": 150}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--out", default="docs/bench/h100/e2e", help="where the JSON files go")
    p.add_argument("--work", default=os.environ.get("TMPDIR", "/tmp") + "/spmmfarm-e2e",
                   help="checkpoints, manifests, bundles (large: BERT 440 MB, LLaMA 1.6-3.2 GB each)")
    p.add_argument("--store", default=None, help="the farm's store (default WORK/store: reruns answer from it)")
    p.add_argument("--spmmfarm", default=os.environ.get("SPMMFARM") or shutil.which("spmmfarm") or "./spmmfarm")
    p.add_argument("--models", default="bert,llama")
    p.add_argument("--bert-tiers", default="fp32,bf16")
    p.add_argument("--llama-tiers", default="bf16")
    p.add_argument("--bert-sparsities", default="0.9,0.95")
    p.add_argument("--llama-sparsities", default="0.7,0.9")
    p.add_argument("--only", action="append", default=[], help="MODEL:TIER:SPARSITY (repeatable), e.g. bert:fp32:0.9")
    p.add_argument("--layout", default="nk", choices=("kn", "nk"),
                   help="the layout the layers are tuned in (nk: X and Y as nn.Linear has them, no transposes)")
    p.add_argument("--min-sparsity", type=float, default=0.5)
    p.add_argument("--local-args", default="--max-configs 32",
                   help="options of spmmfarm local (default: a 32-config sample per layer, for the device budget)")
    p.add_argument("--reps", type=int, default=50, help="timed graph replays (median)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile row")
    p.add_argument("--sparse-compile", action="store_true", help="also torch.compile the sparse model")
    p.add_argument("--no-floor", action="store_true",
                   help="skip the linear-free row (the model with its tuned linear layers at zero cost: the bound)")
    p.add_argument("--bert-layers", type=int, default=12,
                   help="encoder layers of the BERT model (default 12: BERT-base; fewer for a quick check, "
                        "written as model bert-base-LAYERSl)")
    p.add_argument("--bert-attn", default=None, help="BERT's attention implementation (transformers' name)")
    p.add_argument("--tune-reserve", type=float, default=90,
                   help="with --deadline: seconds kept after tuning for sparsifying and timing (default 90); "
                        "tuning that would run into them is stopped and the row written as skipped-*.json")
    p.add_argument("--deadline", type=float, default=0,
                   help="seconds from the start after which nothing new is started (0: none)")
    p.add_argument("--estimate", action="append", default=[], help="MODEL:TIER=SECONDS, a configuration's expected cost")
    p.add_argument("--compile-margin", type=float, default=90,
                   help="seconds the torch.compile row needs (skipped when fewer are left before --deadline)")
    p.add_argument("--dry-run", action="store_true",
                   help="CPU, small shapes, sim backend, the fake CUDA driver (SPMMFARM_LIBCUDA), no timing")
    a = p.parse_args()
    global ATTN, BERT_LAYERS
    ATTN = a.bert_attn
    if not 1 <= a.bert_layers <= 48:
        p.error("--bert-layers: 1..48")
    BERT_LAYERS = a.bert_layers
    if a.bert_layers != 12:  # not BERT-base: its own name, in the JSON and the file
        MODELS["bert"] = ("bert-base-%dl" % a.bert_layers, make_bert, False)
    a.store = a.store or os.path.join(a.work, "store")
    if a.dry_run:
        if not os.environ.get("SPMMFARM_LIBCUDA"):
            p.error("--dry-run needs SPMMFARM_LIBCUDA naming the tests' fake driver (tests/.libs/libfakecudak.so)")
        sft._TEST_HOST_POINTERS = True
        if a.local_args == p.get_default("local_args"):
            a.local_args = ""
    elif not torch.cuda.is_available():
        p.error("no CUDA device: run with --dry-run for the plumbing")
    configs = []
    if a.only:
        for spec in a.only:
            m, t, s = spec.split(":")
            configs.append((m, t, float(s)))
    else:
        for m in a.models.split(","):
            tiers = getattr(a, m + "_tiers").split(",") if not a.dry_run else ["fp32"]
            sparsities = getattr(a, m + "_sparsities").split(",") if not a.dry_run else ["0.9"]
            configs += [(m, t, float(s)) for t in tiers for s in sparsities]
    os.makedirs(a.out, exist_ok=True)
    os.makedirs(a.work, exist_ok=True)
    log = open(os.path.join(a.out, "e2e.log"), "a")
    done = failed = skipped = 0
    estimates = dict(ESTIMATES)
    for spec in a.estimate:
        key, _, sec = spec.partition("=")
        estimates[key] = float(sec)
    for model_key, tier, sparsity in configs:
        tag = "%s-%s-%g" % (model_key, tier, sparsity)
        if a.deadline:
            left, need = a.deadline - (time.time() - T0), estimates.get("%s:%s" % (model_key, tier), 120)
            if left < need:
                print("%-22s skipped: %.0f s left before the deadline, it needs about %.0f" % (tag, left, need))
                with open(os.path.join(a.out, "skipped-" + tag + ".json"), "w") as f:
                    json.dump(dict(config=tag, skipped="deadline", left_s=round(left, 1), estimate_s=need), f,
                              indent=1, sort_keys=True)
                    f.write("\n")
                skipped += 1
                continue
        if model_key not in MODELS or tier not in DTYPES:
            print("unknown configuration %s:%s:%g" % (model_key, tier, sparsity))
            failed += 1
            continue
        if model_key == "bert":
            try:
                import transformers  # noqa: F401
            except ImportError:
                print("transformers is not installed: %s:%s:%g skipped" % (model_key, tier, sparsity))
                skipped += 1
                continue
        t0 = time.time()
        try:
            tag, result = run_config(a, model_key, tier, sparsity, log)
            result["wall_s"] = round(time.time() - t0, 1)
            path = os.path.join(a.out, tag + ".json")
            done += 1
            print("%-22s dense %s ms  sparse %s ms  compile %s ms  speedup %s  err %s (%d/%d linear sparse, %.0f s)"
                  % (tag, result["dense_ms"], result["sparse_ms"], result["compile_ms"], result["speedup"],
                     result["max_rel_err"], result["sparse_layers"], result["linear_layers"], result["wall_s"]))
        except DeadlineCut as e:
            result = dict(config=tag, skipped="deadline during tuning", reason=str(e),
                          wall_s=round(time.time() - t0, 1), store=a.store)
            path = os.path.join(a.out, "skipped-" + tag + ".json")
            skipped += 1
            print("%-22s cut: %s (a rerun answers the layers done from %s)" % (tag, e, a.store))
        except Exception as e:
            traceback.print_exc(file=log)
            result = dict(config=tag, error="%s: %s" % (type(e).__name__, str(e)[:2000]), wall_s=round(time.time() - t0, 1))
            path = os.path.join(a.out, "failed-" + tag + ".json")
            failed += 1
            print("%-22s FAILED: %s" % (tag, result["error"][:300]))
        with open(path, "w") as f:
            json.dump(result, f, indent=1, sort_keys=True)
            f.write("\n")
        if not a.dry_run:
            torch.cuda.empty_cache()
    print("e2e: %d done, %d failed, %d skipped" % (done, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
