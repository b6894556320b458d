#!/usr/bin/env python3
"""farm-manifest.py: writes a model manifest (docs/FARM.md) of real DLMC layers.

  farm-manifest.py DATA OUT transformer SPARSITY... [--n N]
      the six Transformer encoder layer-0 matrices at each sparsity
  farm-manifest.py DATA OUT mixed COUNT
      COUNT layers: the Transformer layer-0 matrices at 0.9 and 0.98 (N=512),
      then ResNet-50 matrices at 0.8/0.9/0.95 with N from rn50_batchsizes.txt
      (batch 1), skipping K > 2304 (compile cost), in a fixed order.
DATA is the DLMC directory (../shared/data/dlmc)."""
import json, os, sys

def transformer(data, sparsity, n):
    d = os.path.join(data, "transformer", "magnitude_pruning", sparsity)
    return [{"name": "t%s_%s" % (sparsity, f[len("body_encoder_layer_0_"):-len("_fully_connected.smtx")]),
             "file": os.path.join(d, f), "n": n}
            for f in sorted(os.listdir(d)) if f.startswith("body_encoder_layer_0_")]

def rn50(data, sparsity):
    sizes = dict(l.strip().split(",") for l in open(os.path.join(data, "rn50_batchsizes.txt")) if "," in l)
    d = os.path.join(data, "rn50", "magnitude_pruning", sparsity)
    out = []
    for f in sorted(os.listdir(d)):
        name = f[:-5]
        if name not in sizes:
            continue
        k = int(open(os.path.join(d, f)).readline().split(",")[1])
        if k > 2304:
            continue
        out.append({"name": "r%s_%s" % (sparsity, name), "file": os.path.join(d, f), "n": int(sizes[name])})
    return out

def main():
    data, out, kind = sys.argv[1], sys.argv[2], sys.argv[3]
    args = sys.argv[4:]
    n = 4096
    if "--n" in args:
        i = args.index("--n"); n = int(args[i + 1]); del args[i:i + 2]
    if kind == "transformer":
        layers = [l for s in args for l in transformer(data, s, n)]
    else:
        count = int(args[0])
        layers = transformer(data, "0.9", 512) + transformer(data, "0.98", 512)
        for s in ("0.8", "0.9", "0.95"):
            if os.path.isdir(os.path.join(data, "rn50", "magnitude_pruning", s)):
                layers += rn50(data, s)
        layers = layers[:count]
    json.dump({"name": "%s-%d" % (kind, len(layers)), "layers": layers}, open(out, "w"), indent=1)
    print("%s: %d layers" % (out, len(layers)))

main()
