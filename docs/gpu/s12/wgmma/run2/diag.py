#!/usr/bin/env python3
# scratch diagnostic (wgmma branch): runs each cubin of diag/meta.txt on crafted inputs
# through libcuda (ctypes), saves C and the reference to $OUT/diag.npz, prints errors.
import ctypes, os, sys, numpy as np
d = sys.argv[1]; out = sys.argv[2]
M, K, N = 131, 77, 100
cu = ctypes.CDLL("libcuda.so.1")
def ck(r, what):
    if r != 0: raise RuntimeError("%s failed: %d" % (what, r))
ck(cu.cuInit(0), "init")
dev = ctypes.c_int(); ck(cu.cuDeviceGet(ctypes.byref(dev), 0), "dev")
ctx = ctypes.c_void_p(); ck(cu.cuDevicePrimaryCtxRetain(ctypes.byref(ctx), dev), "ctx"); ck(cu.cuCtxSetCurrent(ctx), "set")
def dalloc(arr):
    p = ctypes.c_uint64(); n = max(arr.nbytes, 16)
    ck(cu.cuMemAlloc_v2(ctypes.byref(p), ctypes.c_size_t(n)), "alloc")
    ck(cu.cuMemcpyHtoD_v2(p, arr.ctypes.data_as(ctypes.c_void_p), ctypes.c_size_t(arr.nbytes)), "h2d")
    return p
def bf16(x):
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7fff + ((u >> 16) & 1)) >> 16
    return u.astype(np.uint16)
def from_bf16(h): return (h.astype(np.uint32) << 16).view(np.float32)
def tf32(x):
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    return (((u + 0x1000) & 0xffffe000) & 0xffffffff).astype(np.uint32).view(np.float32)
A = np.fromfile(os.path.join(d, "A.f32"), dtype=np.float32).reshape(M, K)
rng = np.random.default_rng(3)
Bf = rng.uniform(-1, 1, (K, N)).astype(np.float32)
res = {}
only = sys.argv[3] if len(sys.argv) > 3 else None
for line in open(os.path.join(d, "meta.txt")):
    f, text, entry, threads, bn, pg, smem, tier, plain = line.split()
    if only and f != only: continue
    threads, bn, pg, smem, tier, plain = map(int, (threads, bn, pg, smem, tier, plain))
    try:
        if tier <= 1:
            Bt = Bf; Bh = Bf; Ar = A if tier == 0 else tf32(A); Bref = Bf if tier == 0 else tf32(Bf)
            Cbytes = 4; Adata = A
        elif tier == 2:
            Bh = bf16(Bf); Bref = from_bf16(Bh); Ar = from_bf16(bf16(A)); Adata = bf16(A); Cbytes = 2
        else:
            Bh = Bf.astype(np.float16); Bref = Bh.astype(np.float32); Ar = A.astype(np.float16).astype(np.float32)
            Adata = A.astype(np.float16); Cbytes = 2
        data = Adata if plain else np.fromfile(os.path.join(d, "pack%d.bin" % tier), dtype=np.uint8)
        ref = Ar.astype(np.float64) @ Bref.astype(np.float64)
        mod = ctypes.c_void_p(); img = open(os.path.join(d, f), "rb").read()
        ck(cu.cuModuleLoadData(ctypes.byref(mod), img), "load " + f)
        fn = ctypes.c_void_p(); ck(cu.cuModuleGetFunction(ctypes.byref(fn), mod, entry.encode()), "func")
        ck(cu.cuFuncSetAttribute(fn, 8, smem), "smem attr")  # MAX_DYNAMIC_SHARED_SIZE_BYTES
        pB = dalloc(np.ascontiguousarray(Bh)); pC = dalloc(np.full(M * N * Cbytes, 0x7f, dtype=np.uint8))
        pD = dalloc(np.ascontiguousarray(data)); pbias = dalloc(np.zeros(M, dtype=np.float32))
        n32 = ctypes.c_uint32(N)
        args = (ctypes.c_void_p * 5)(*[ctypes.cast(ctypes.pointer(x), ctypes.c_void_p) for x in (pB, pC, n32, pbias, pD)])
        gx = (N + bn - 1) // bn
        ck(cu.cuLaunchKernel(fn, gx, pg, 1, threads, 1, 1, smem, None, args, None), "launch")
        ck(cu.cuCtxSynchronize(), "sync")
        hostC = np.zeros(M * N * Cbytes, dtype=np.uint8)
        ck(cu.cuMemcpyDtoH_v2(hostC.ctypes.data_as(ctypes.c_void_p), pC, ctypes.c_size_t(hostC.nbytes)), "d2h")
        if tier <= 1: C = hostC.view(np.float32)
        elif tier == 2: C = from_bf16(hostC.view(np.uint16))
        else: C = hostC.view(np.float16).astype(np.float32)
        C = C.reshape(M, N).astype(np.float64)
        err = np.linalg.norm(C - ref) / np.linalg.norm(ref)
        bad = np.argwhere(~(np.abs(C - ref) <= 1e-2 * (1 + np.abs(ref))))
        print("%-40s err %.3e  wrong %d/%d  first %s" % (text, err, len(bad), M * N, bad[:4].tolist()), flush=True)
        res[f + "_C"] = C; res[f + "_ref"] = ref
    except Exception as e:
        print("%-40s ERROR %s" % (text, e), flush=True)
        break
np.savez_compressed(os.path.join(out, "diag-%s.npz" % (only or "all")), **res)
