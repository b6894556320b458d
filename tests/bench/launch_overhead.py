#!/usr/bin/env python3
"""launch_overhead.py: host cost of one spmmfarm.torch call, per path, on a GPU.

Makes a bundle of one real kernel for GPU 0 (spmmfarm gen + bundle create:
768 x 768 at 90 %, bias, a U config; or --bundle B --layer NAME), then times
on the host (perf_counter) batches of 100 calls with a synchronisation
between batches, so that the GPU queue never fills and the figure is the
CPU's: median microseconds per call over --batches batches, for
  raw_c        spmmfarm._launch.launch (the C extension) with raw pointers
  raw_ctypes   the same through ctypes
  spmm         spmmfarm.torch._spmm (checks, output allocation, stream, launch)
  module       SparseLinear.__call__ (nn.Module's call on top)
  op           torch.ops.spmmfarm.spmm (the registered operator, torch >= 2.4)
  torch_linear F.linear on the same shapes (cuBLAS), for comparison
  torch_empty  torch.empty of the output alone
and the kernel's own time as a CUDA graph replay of 20 launches. The bundle's
layout is kn, so spmm and module include the two transposes (copies).
Writes OUT/launch_overhead.json.

    SPMMFARM=... SPMMFARM_RT_LIB=... PYTHONPATH=python python3 tests/bench/launch_overhead.py --out $OUT
"""
import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))

import torch  # noqa: E402

import spmmfarm.runtime as sr  # noqa: E402
import spmmfarm.torch as sft  # noqa: E402
import spmmfarm_rt  # noqa: E402

CONFIG = "U:r32.v4.t64.g2.o1.m128.sim"


def host_us(fn, batches, per=100):
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(per):
            fn()
        times.append((time.perf_counter() - t0) / per * 1e6)
        torch.cuda.synchronize()
    return round(statistics.median(times), 3)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", default=".")
    p.add_argument("--work", default="/tmp/spmmfarm-overhead")
    p.add_argument("--bundle")
    p.add_argument("--layer", default="fc.weight")
    p.add_argument("--n", type=int, default=16, help="tokens per call")
    p.add_argument("--batches", type=int, default=50)
    p.add_argument("--spmmfarm", default=os.environ.get("SPMMFARM", "./spmmfarm"))
    a = p.parse_args()
    os.makedirs(a.work, exist_ok=True)
    if not a.bundle:
        mtx, a.bundle = os.path.join(a.work, "l.mtx"), os.path.join(a.work, "o.bundle")
        subprocess.run([a.spmmfarm, "gen", "--m", "768", "--k", "768", "--sparsity", "0.9", "--seed", "1", "-o", mtx],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([a.spmmfarm, "bundle", "create", "--bias", "--replace", "-o", a.bundle,
                        "%s=%s:%d:%s" % (a.layer, mtx, a.n, CONFIG)], check=True, stdout=subprocess.DEVNULL)
    bundle = sft.load(a.bundle)
    spec = bundle.spec.layer(a.layer)
    eid = bundle.entry(spec)
    linear = torch.nn.Linear(spec.k, spec.m).cuda()
    module = sft.SparseLinear(linear, eid, spec)
    x = torch.randn(a.n, spec.k, device="cuda")
    b, c = torch.randn(spec.k, a.n, device="cuda"), torch.empty(spec.m, a.n, device="cuda")
    bias = linear.bias.detach()
    e = sft._ENTRIES[eid]
    stream = torch.cuda.current_stream().cuda_stream
    lib = sr.library()
    res = dict(gpu=torch.cuda.get_device_name(), torch=torch.__version__, python=sys.version.split()[0],
               layer=dict(name=spec.name, m=spec.m, k=spec.k, n=a.n, template=spec.template, layout=spec.layout),
               launcher=sr.launcher()[1], batch_calls=100, batches=a.batches, unit="host microseconds per call")
    try:
        from spmmfarm import _launch
        _launch.bind(ctypes.cast(lib.sfrt_launch_typed, ctypes.c_void_p).value,
                     ctypes.cast(lib.sfrt_last_error, ctypes.c_void_p).value,
                     ctypes.cast(lib.sfrt_last_cuda_error, ctypes.c_void_p).value, spmmfarm_rt.Error)
        res["raw_c"] = host_us(lambda: _launch.launch(e.handle, stream, b.data_ptr(), c.data_ptr(), a.n,
                                                      bias.data_ptr(), e.code), a.batches)
    except ImportError as err:
        res["raw_c"] = None
        res["raw_c_missing"] = str(err)
    fn = lib.sfrt_launch
    res["raw_ctypes"] = host_us(lambda: fn(e.handle, stream, b.data_ptr(), c.data_ptr(), a.n, bias.data_ptr()),
                                a.batches)
    with torch.inference_mode():
        res["spmm"] = host_us(lambda: sft._spmm(x, bias, eid), a.batches)
        res["module"] = host_us(lambda: module(x), a.batches)
        if sft.HAS_CUSTOM_OP:
            res["op"] = host_us(lambda: torch.ops.spmmfarm.spmm(x, bias, eid), a.batches)
        res["torch_linear"] = host_us(lambda: torch.nn.functional.linear(x, linear.weight, bias), a.batches)
        res["torch_empty"] = host_us(lambda: torch.empty(a.n, spec.m, device="cuda"), a.batches)
        # the kernel itself: a graph of 20 launches
        g = torch.cuda.CUDAGraph()
        with torch.cuda.graph(g):
            for _ in range(20):
                _ = sft._spmm(x, bias, eid)
        g.replay()
        torch.cuda.synchronize()
        s, t = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(10):
            g.replay()
        t.record()
        t.synchronize()
        res["graph_call_us"] = round(s.elapsed_time(t) * 1e3 / 200, 3)
        ref = torch.nn.functional.linear(x, linear.weight, bias)
        res["note"] = "graph_call_us: one call (kernel and the kn transposes) replayed in a graph; ref shape %s" % (
            tuple(ref.shape),)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "launch_overhead.json"), "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
