#!/usr/bin/env python3
"""deploy_torch.py: the deployment path of docs/DEPLOY.md on a small model.

A three-layer MLP is pruned to 90 % by magnitude and saved as a safetensors
checkpoint; `spmmfarm import` makes its manifest, `spmmfarm local` tunes it
and exports a bundle; spmmfarm.torch.sparsify() swaps its nn.Linear layers
for the bundle's kernels; the sparse model's output is compared with the
dense one's. Without a GPU, `local` runs the sim backend and the example
stops after the bundle (sim kernels never ran; nothing to launch them on).

    SPMMFARM=./spmmfarm PYTHONPATH=python python3 examples/deploy_torch.py [WORKDIR]
"""
import os
import subprocess
import sys
import tempfile

import torch

import spmmfarm.checkpoint
import spmmfarm.torch

SPMMFARM = os.environ.get("SPMMFARM", "spmmfarm")
work = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="spmmfarm-deploy-")
gpu = torch.cuda.is_available()
device = "cuda" if gpu else "cpu"

torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(128, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256),
                            torch.nn.ReLU(), torch.nn.Linear(256, 64)).eval()
with torch.no_grad():  # magnitude pruning to 90 %, per weight
    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            w = layer.weight
            w[w.abs() <= w.abs().flatten().kthvalue(int(0.9 * w.numel())).values] = 0

# 1. the pruned checkpoint; 2. import; 3. tune and export
checkpoint = spmmfarm.checkpoint.save(model.state_dict(), os.path.join(work, "mlp.safetensors"))
manifest, bundle = os.path.join(work, "mlp.json"), os.path.join(work, "mlp.bundle")
tokens = 256
subprocess.run([SPMMFARM, "import", checkpoint, "-o", manifest, "--tokens", str(tokens), "--force"], check=True)
subprocess.run([SPMMFARM, "local", "--model", manifest, "-o", bundle, "--store", os.path.join(work, "store")]
               + ([] if gpu else ["--backend", "sim", "--max-configs", "2", "--allow-simulated"]), check=True)
if not gpu:
    print("no GPU: the bundle %s holds sim-tuned kernels; sparsify() needs a GPU to run them" % bundle)
    sys.exit(0)

# 4. two lines: the model's layers on the bundle's kernels
model = model.to(device)
dense = [layer.weight.clone() for layer in model if isinstance(layer, torch.nn.Linear)]
report = spmmfarm.torch.sparsify(model, bundle)
print(report)

x = torch.randn(tokens, 128, device=device)
with torch.inference_mode():
    y = model(x)
    ref = x
    for i, layer in enumerate(l for l in model if isinstance(l, (torch.nn.Linear, spmmfarm.torch.SparseLinear))):
        ref = torch.nn.functional.linear(ref, dense[i], layer.bias)
        ref = torch.relu(ref) if i < 2 else ref
err = float((y - ref).abs().max() / ref.abs().max())
print("sparse vs dense: normwise relative error %.2e" % err)
sys.exit(0 if err < 1e-4 else 1)
