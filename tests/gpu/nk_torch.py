#!/usr/bin/env python3
"""nk_torch.py: the nk layout through PyTorch on a GPU (issue 23), for
tests/gpu/check-gpu-nk.sh. A small model of nn.Linear layers of awkward
shapes (K = 27, M and K multiples of no tile, with and without bias),
pruned, written as a checkpoint, `spmmfarm import --layout nk`, `spmmfarm
local` on this GPU (every candidate verified by the search), then
spmmfarm.torch.sparsify(use_dense_kernels=True, so that dense winners run
our nk dense kernel too) and each SparseLinear against float64 F.linear on
the same inputs at N = 1, 3, 16, 509 tokens, eagerly and replayed from a
CUDA graph; per tier (fp32, bf16). Prints one line per check; exit 1 on a
failure, 77 without CUDA.

    SPMMFARM=./spmmfarm SPMMFARM_RT_LIB=runtime/.libs/libspmmfarm-rt.so.0 \\
        python3 tests/gpu/nk_torch.py [--work DIR]
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import torch  # noqa: E402

import spmmfarm.checkpoint  # noqa: E402
import spmmfarm.torch as sft  # noqa: E402

TOL = {"fp32": 1e-5, "bf16": 1e-2}
DTYPE = {"fp32": torch.float32, "bf16": torch.bfloat16}
FAILED = []


def check(ok, what):
    print("%s - %s" % ("ok" if ok else "FAIL", what))
    if not ok:
        FAILED.append(what)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(27, 70)               # K = 27, M = 70
        self.b = torch.nn.Linear(70, 131, bias=False)  # no bias
        self.c = torch.nn.Linear(131, 384)             # to a tile-sized M
        self.d = torch.nn.Linear(384, 96)

    def forward(self, x):
        return self.d(self.c(self.b(self.a(x))))


def prune_(model, sparsity):
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.Linear):
                w = mod.weight
                k = int(round(sparsity * w.numel()))
                w[w.abs() <= w.abs().flatten().kthvalue(k).values] = 0


def run(args, what):
    out = subprocess.run(args, capture_output=True, text=True)
    check(out.returncode == 0, "%s (exit %d)" % (what, out.returncode))
    if out.returncode != 0:
        print((out.stderr or out.stdout)[-2000:])
    return out.returncode == 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", default=None)
    p.add_argument("--spmmfarm", default=os.environ.get("SPMMFARM", "./spmmfarm"))
    p.add_argument("--max-configs", default="8")
    a = p.parse_args()
    if not torch.cuda.is_available():
        print("SKIP: no CUDA device")
        return 77
    work = a.work or tempfile.mkdtemp(prefix="nk-torch-")
    for tier in ("fp32", "bf16"):
        torch.manual_seed(3)
        model = Net().eval()
        prune_(model, 0.8)
        model = model.to(device="cuda", dtype=DTYPE[tier])
        d = os.path.join(work, tier)
        os.makedirs(d, exist_ok=True)
        ckpt = spmmfarm.checkpoint.save(model.state_dict(), os.path.join(d, "model.safetensors"))
        manifest, bundle = os.path.join(d, "model.json"), os.path.join(d, "model.bundle")
        if not run([a.spmmfarm, "import", ckpt, "-o", manifest, "--tokens", "512", "--layout", "nk",
                    "--precision", tier, "--force", "-q"], "%s: import --layout nk" % tier):
            continue
        if not run([a.spmmfarm, "local", "--model", manifest, "-o", bundle, "--store", os.path.join(d, "store"),
                    "--backend", "cuda", "--budget", "0", "--max-configs", a.max_configs, "--templates", "D", "-q"],
                   "%s: local (GPU, every candidate verified)" % tier):
            continue
        sparse = Net().eval().to(device="cuda", dtype=DTYPE[tier])
        sparse.load_state_dict(model.state_dict())
        rep = sft.sparsify(sparse, bundle, use_dense_kernels=True, min_gain=0)
        check(len(rep.replaced) == 4 and all(r[3] == "nk" for r in rep.replaced),
              "%s: every layer replaced by an nk SparseLinear (%s)" % (tier, [(r[0], r[2]) for r in rep.replaced]))
        with torch.inference_mode():
            for name in ("a", "b", "c", "d"):
                dense_mod, sparse_mod = getattr(model, name), getattr(sparse, name)
                for n in (1, 3, 16, 509):
                    x = torch.randn(n, dense_mod.in_features, device="cuda").to(DTYPE[tier])
                    want = torch.nn.functional.linear(
                        x.double(), dense_mod.weight.double(),
                        None if dense_mod.bias is None else dense_mod.bias.double())
                    got = sparse_mod(x)
                    err = float((got.double() - want).norm() / want.norm().clamp_min(1e-30))
                    check(got.shape == want.shape and err <= TOL[tier],
                          "%s: layer %s (%s) at N = %d: error %.2e" % (tier, name, sparse_mod.template, n, err))
            # the whole model captured in a CUDA graph, on PyTorch's stream
            x = torch.randn(2, 7, 27, device="cuda").to(DTYPE[tier])
            eager = sparse(x).clone()
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                sparse(x)
            torch.cuda.current_stream().wait_stream(side)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                y = sparse(x)
            g.replay()
            torch.cuda.synchronize()
            check(torch.equal(y, eager), "%s: a CUDA graph replay equals the eager call (3-D input)" % tier)
    print("%d failed" % len(FAILED))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
