#!/usr/bin/env python3
"""farm-manifest.py: writes a model manifest (docs/FARM.md) of real DLMC layers.

  farm-manifest.py DATA OUT transformer SPARSITY... [--n N] [--layers 0,1,...]
      the six Transformer encoder matrices of each layer (default: layer 0)
      at each sparsity
  farm-manifest.py DATA OUT mixed COUNT [--max-nnz NNZ]
      COUNT layers: the Transformer layer-0 matrices at 0.9 and 0.98 (N=512),
      then ResNet-50 matrices at 0.8/0.9/0.95 with N from rn50_batchsizes.txt
      (batch 1), skipping K > 2304 (compile cost), in a fixed order;
      --max-nnz: only matrices with at most NNZ nonzeros.
  farm-manifest.py DATA OUT small COUNT
      COUNT layers whose full kernels compile in seconds: the Transformer
      layer-0 matrices at 0.98 (N=4096), then ResNet-50 matrices at 0.95 with
      at most 8000 nonzeros and N from rn50_batchsizes.txt (batch 1)
DATA is the DLMC directory (../shared/data/dlmc)."""
import json, os, sys

def transformer(data, sparsity, n, layer=0):
    d = os.path.join(data, "transformer", "magnitude_pruning", sparsity)
    prefix = "body_encoder_layer_%d_" % layer
    tag = "t%s" % sparsity if layer == 0 else "t%s_l%d" % (sparsity, layer)
    return [{"name": "%s_%s" % (tag, f[len(prefix):-len("_fully_connected.smtx")]),
             "file": os.path.join(d, f), "n": n}
            for f in sorted(os.listdir(d)) if f.startswith(prefix)]

def rn50(data, sparsity, max_nnz=None):
    sizes = dict(l.strip().split(",") for l in open(os.path.join(data, "rn50_batchsizes.txt")) if "," in l)
    d = os.path.join(data, "rn50", "magnitude_pruning", sparsity)
    out = []
    for f in sorted(os.listdir(d)):
        name = f[:-5]
        if name not in sizes:
            continue
        head = [int(x) for x in open(os.path.join(d, f)).readline().split(",")]
        if head[1] > 2304 or (max_nnz and head[2] > max_nnz):
            continue
        out.append({"name": "r%s_%s" % (sparsity, name), "file": os.path.join(d, f), "n": int(sizes[name])})
    return out

def main():
    data, out, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    args = sys.argv[4:]
    n = 4096
    if "--n" in args:
        i = args.index("--n"); n = int(args[i + 1]); del args[i:i + 2]
    numbers = [0]
    max_nnz = None
    if "--max-nnz" in args:
        i = args.index("--max-nnz"); max_nnz = int(args[i + 1]); del args[i:i + 2]
    if "--layers" in args:
        i = args.index("--layers"); numbers = [int(x) for x in args[i + 1].split(",")]; del args[i:i + 2]
    if kind == "transformer":
        layers = [l for s in args for k in numbers for l in transformer(data, s, n, k)]
    elif kind == "small":
        layers = (transformer(data, "0.98", 4096) + rn50(data, "0.95", 8000))[:int(args[0])]
    else:
        count = int(args[0])
        layers = transformer(data, "0.9", 512) + transformer(data, "0.98", 512)
        for s in ("0.8", "0.9", "0.95"):
            if os.path.isdir(os.path.join(data, "rn50", "magnitude_pruning", s)):
                layers += rn50(data, s)
        if max_nnz:
            layers = [l for l in layers if int(open(l["file"]).readline().split(",")[2]) <= max_nnz]
        layers = layers[:count]
    json.dump({"name": "%s-%d" % (kind, len(layers)), "layers": layers}, open(out, "w"), indent=1)
    print("%s: %d layers" % (out, len(layers)))

main()
