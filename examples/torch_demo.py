#!/usr/bin/env python3
"""torch_demo: run a bundle's layer on PyTorch CUDA tensors and compare it
with PyTorch's own dense and sparse products.

    python3 examples/torch_demo.py model.bundle fc1 --matrix fc1.mtx [--n 4096]

A comes from --matrix (a Matrix Market coordinate real .mtx, as
`spmmfarm gen` writes, or a float32 .npy of shape (M, K)); a dense layer
carries A in its data file, so it needs none. B is random (K x N), the bias
random when the layer has one. Prints the error against a float64 product
and the median times (CUDA events, >= 20 launches) of the layer, of
torch's dense fp32 matmul (TF32 off) and of torch.sparse (CSR) on the same
B. Needs PyTorch with CUDA; finds python/spmmfarm_rt.py next to this tree.
"""

import argparse
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

import spmmfarm_rt  # noqa: E402


def read_mtx(path, m, k):
    """Dense float32 list of lists from a coordinate real Matrix Market file."""
    import torch
    a = torch.zeros((m, k), dtype=torch.float32)
    with open(path) as f:
        header = f.readline()
        if "coordinate" not in header or "real" not in header:
            sys.exit("%s: not a Matrix Market coordinate real file" % path)
        line = f.readline()
        while line.startswith("%"):
            line = f.readline()
        rows, cols, nnz = (int(x) for x in line.split())
        if (rows, cols) != (m, k):
            sys.exit("%s: %d x %d, the layer is %d x %d" % (path, rows, cols, m, k))
        entries = [f.readline().split() for _ in range(nnz)]
    if entries:
        i = torch.tensor([int(e[0]) - 1 for e in entries])
        j = torch.tensor([int(e[1]) - 1 for e in entries])
        a[i, j] = torch.tensor([float(e[2]) for e in entries], dtype=torch.float32)
    return a


def read_npy(path, m, k):
    """A float32 C-order (M, K) .npy, without numpy."""
    import torch
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        sys.exit("%s: not a .npy file" % path)
    if data[6] == 1:
        hlen, start = struct.unpack("<H", data[8:10])[0], 10
    else:
        hlen, start = struct.unpack("<I", data[8:12])[0], 12
    header = data[start:start + hlen].decode("latin1")
    if "'<f4'" not in header or "'fortran_order': False" not in header or "(%d, %d)" % (m, k) not in header:
        sys.exit("%s: expected float32 C-order of shape (%d, %d): %s" % (path, m, k, header.strip()))
    return torch.frombuffer(bytearray(data[start + hlen:]), dtype=torch.float32).reshape(m, k)


def weights(args, layer):
    if args.matrix:
        reader = read_npy if args.matrix.endswith(".npy") else read_mtx
        return reader(args.matrix, layer.m, layer.k)
    if layer.template == "dense":
        import torch
        with open(os.path.join(args.bundle, "data", layer.name + ".bin"), "rb") as f:
            return torch.frombuffer(bytearray(f.read()), dtype=torch.float32).reshape(layer.m, layer.k)
    return None


def median_us(fn, launches):
    import torch
    for _ in range(3):
        fn()
    times = []
    start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    for _ in range(launches):
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop) * 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bundle")
    p.add_argument("layer")
    p.add_argument("--matrix", help="the layer's weights: .mtx or float32 .npy")
    p.add_argument("--n", type=int, help="columns of B (default: the tuned N)")
    p.add_argument("--launches", type=int, default=50)
    p.add_argument("--device", type=int, default=0)
    args = p.parse_args()
    if args.launches < 20:
        p.error("--launches must be at least 20")

    import torch
    if not torch.cuda.is_available():
        sys.exit("torch_demo: no CUDA GPU visible to PyTorch")
    torch.cuda.set_device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device("cuda", args.device)
    torch.cuda.init()  # the primary context, which the bundle shares

    bundle = spmmfarm_rt.Bundle(args.bundle, device=args.device, allow_simulated=True)
    layer = bundle.layer(args.layer)
    n = args.n or layer.tuned_n
    print("%s: layer %s, %s %s, %d x %d, N = %d, GPU %s" % (
        bundle.path, layer.name, layer.template, layer.config, layer.m, layer.k, n,
        torch.cuda.get_device_name(dev)))

    gen = torch.Generator(device=dev).manual_seed(1)
    b = torch.rand((layer.k, n), device=dev, generator=gen) * 2 - 1
    bias = torch.rand((layer.m,), device=dev, generator=gen) * 2 - 1 if layer.bias else None
    c = torch.full((layer.m, n), float("nan"), device=dev)
    layer.launch(b, c, bias=bias)  # on torch's current stream
    torch.cuda.synchronize()
    unwritten = int(torch.isnan(c).sum())
    print("outputs written: %s" % ("all" if unwritten == 0 else "%d NOT WRITTEN" % unwritten))

    t_ours = median_us(lambda: layer.launch(b, c, bias=bias), args.launches)
    line = "spmmfarm %.2f us" % t_ours
    if layer.time_us is not None and n == layer.tuned_n:
        line += " (tuned %.2f us%s)" % (layer.time_us, ", simulated" if layer.simulated else "")

    ok = unwritten == 0
    a = weights(args, layer)
    if a is not None:
        a = a.to(dev)
        ref = a.double() @ b.double()
        if bias is not None:
            ref += bias.double()[:, None]
        if layer.relu:
            ref = torch.relu(ref)
        err = float((c.double() - ref).norm() / ref.norm())
        print("max abs error %.3g, normwise relative error %.3g" % (float((c.double() - ref).abs().max()), err))
        ok = ok and err <= 1e-5
        dense = torch.empty_like(c)
        t_dense = median_us(lambda: torch.matmul(a, b, out=dense), args.launches)
        a_csr = a.to_sparse_csr()
        t_sparse = median_us(lambda: torch.sparse.mm(a_csr, b), args.launches)
        line += " | torch dense fp32 %.2f us | torch.sparse CSR %.2f us" % (t_dense, t_sparse)
    else:
        print("no reference: pass --matrix FILE with the layer's weights")
    print(line)
    bundle.close()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
