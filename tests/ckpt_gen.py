#!/usr/bin/env python3
"""ckpt_gen.py: small safetensors checkpoints for the tests (stdlib only).

    ckpt_gen.py OUT.safetensors [--seed S] TENSOR...
    ckpt_gen.py OUTDIR --shards K [--seed S] TENSOR...   sharded, with its
                                                           model.safetensors.index.json
TENSOR is NAME:DTYPE:D0xD1[x...][:SPARSITY], e.g. fc1.weight:F32:64x32:0.9
(DTYPE F32, F16, BF16, F64 or I64; values uniform in [-1, 1) with the given
fraction set to exact zeros, the same set for a given seed). Shards split the
tensors in order, the index maps each to its file (model-0000i-of-0000K).
"""
import json
import os
import random
import struct
import sys


def _bf16(x):
    bits = struct.unpack("<I", struct.pack("<f", x))[0]
    bits += 0x7FFF + ((bits >> 16) & 1)  # round to nearest even
    return struct.pack("<H", (bits >> 16) & 0xFFFF)


def _encode(dtype, values):
    if dtype == "F32":
        return struct.pack("<%df" % len(values), *values)
    if dtype == "F64":
        return struct.pack("<%dd" % len(values), *values)
    if dtype == "F16":
        return struct.pack("<%de" % len(values), *values)
    if dtype == "BF16":
        return b"".join(_bf16(v) for v in values)
    if dtype == "I64":
        return struct.pack("<%dq" % len(values), *[int(v * 100) for v in values])
    raise SystemExit("ckpt_gen: unknown dtype " + dtype)


def tensor_bytes(dtype, shape, sparsity, rng):
    count = 1
    for d in shape:
        count *= d
    zeros = set(rng.sample(range(count), int(round(count * sparsity)))) if count else set()
    values = []
    for i in range(count):
        v = 0.0 if i in zeros else rng.uniform(-1.0, 1.0)
        if v == 0.0 and i not in zeros:
            v = 0.5
        values.append(v)
    return _encode(dtype, values)


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype, shape, data bytes)."""
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def parse(spec):
    parts = spec.split(":")
    if len(parts) not in (3, 4):
        raise SystemExit("ckpt_gen: TENSOR is NAME:DTYPE:SHAPE[:SPARSITY], not " + spec)
    shape = [int(d) for d in parts[2].split("x")] if parts[2] else []
    return parts[0], parts[1], shape, float(parts[3]) if len(parts) == 4 else 0.0


def main(argv):
    args, seed, shards, specs = argv[1:], 1, 0, []
    if not args:
        raise SystemExit(__doc__)
    out = args.pop(0)
    while args:
        a = args.pop(0)
        if a == "--seed":
            seed = int(args.pop(0))
        elif a == "--shards":
            shards = int(args.pop(0))
        else:
            specs.append(parse(a))
    rng = random.Random(seed)
    tensors = [(n, d, s, tensor_bytes(d, s, sp, rng)) for n, d, s, sp in specs]
    if not shards:
        write_safetensors(out, tensors)
        return
    os.makedirs(out, exist_ok=True)
    per = (len(tensors) + shards - 1) // shards
    weight_map = {}
    for i in range(shards):
        name = "model-%05d-of-%05d.safetensors" % (i + 1, shards)
        part = tensors[i * per:(i + 1) * per]
        write_safetensors(os.path.join(out, name), part)
        for t in part:
            weight_map[t[0]] = name
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": sum(len(t[3]) for t in tensors)}, "weight_map": weight_map}, f, indent=2)


if __name__ == "__main__":
    main(sys.argv)
