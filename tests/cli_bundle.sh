#!/bin/sh
# Bundles end to end: `spmmfarm bundle create/inspect/verify`, tampering,
# exit codes, the runtime library's dependencies and exports, the Python
# binding against the fake driver, the C demo without a GPU. On a machine
# with a GPU it also runs real kernels: verify with the CPU reference,
# rt_demo, and the PyTorch demo when torch is installed.
#   RT_DEMO, SPMMFARM_RT_LIB: override the demo and the library (device runs)
. "$(dirname "$0")/testlib.sh"

RT_LIB=${SPMMFARM_RT_LIB:-$TOP_BUILDDIR/runtime/.libs/libspmmfarm-rt.so.0}
RT_DEMO=${RT_DEMO:-$TOP_BUILDDIR/examples/rt_demo}
FAKE="$TOP_BUILDDIR/tests/.libs/libfakecudak.so"
PY="$TOP_SRCDIR/python"
# under the sanitizer build (tests/sanitize.sh) the library python3 loads
# is instrumented: python3 needs the ASan runtime loaded first
PYENV="SF_PY=1"
if [ "${SF_SANITIZE_INNER:-}" = 1 ]; then
    PYENV="LD_PRELOAD=$(clang -print-file-name=libclang_rt.asan-x86_64.so)"
fi
export PYTHONDONTWRITEBYTECODE=1  # the source tree may be read-only (distcheck)
B="$WORK/m.bundle"

# ---- help and usage -------------------------------------------------------
expect_exit 0 "bundle --help" "$SPMMFARM" bundle --help
expect_grep "^usage: spmmfarm bundle inspect DIR" "$WORK/out" "help shows the three actions"
expect_exit 0 "help bundle" "$SPMMFARM" help bundle
expect_exit 0 "bundle verify --help" "$SPMMFARM" bundle verify --help
expect_exit 2 "bundle without an action" "$SPMMFARM" bundle
expect_exit 2 "unknown action" "$SPMMFARM" bundle unpack "$B"
expect_grep "unknown action 'unpack'" "$WORK/err" "the action is named"
expect_exit 2 "inspect without DIR" "$SPMMFARM" bundle inspect
expect_exit 2 "inspect of a non-bundle" "$SPMMFARM" bundle inspect "$WORK"
expect_grep "not a bundle \(no manifest.json\)" "$WORK/err" "says it is not a bundle"
expect_exit 2 "bad --tol" "$SPMMFARM" bundle verify "$B" --tol 0
expect_exit 2 "bad --l2" "$SPMMFARM" bundle verify "$B" --l2 tepid
expect_grep "--l2: 'tepid' is not one of auto, warm, cold" "$WORK/err" "--l2: the request's words and message"
expect_exit 0 "bundle --help" "$SPMMFARM" bundle --help
expect_grep "^  --l2 M .*verify: the L2 at each timed launch" "$WORK/out" "--l2 in bundle's help"

# ---- create (CPU only: nvJitLink and NVRTC) -------------------------------
"$SPMMFARM" gen --m 192 --k 96 --sparsity 0.9 --seed 3 -o "$WORK/w1.smtx" >/dev/null
"$SPMMFARM" gen --m 100 --k 64 --sparsity 0.5 --seed 4 -o "$WORK/w2.mtx" >/dev/null
CFG="U:r32.v4.t32.g2.o1.m128.sim"
expect_exit 2 "create without -o" "$SPMMFARM" bundle create --arch sm_90 "fc1=$WORK/w1.smtx:512:$CFG"
expect_exit 2 "create without layers" "$SPMMFARM" bundle create --arch sm_90 -o "$B"
expect_exit 2 "create with a bad layer spec" "$SPMMFARM" bundle create --arch sm_90 -o "$B" "fc1=$WORK/w1.smtx"
expect_exit 2 "create with a bad config" "$SPMMFARM" bundle create --arch sm_90 -o "$B" "fc1=$WORK/w1.smtx:512:U:r32"
expect_exit 0 "create with template D" "$SPMMFARM" bundle create --arch sm_90 -o "$WORK/d.bundle" "fc1=$WORK/w1.smtx:512:D:r4.v4.t64.g2.o1.sim"
expect_exit 0 "a D bundle verifies (schema, checksums)" "$SPMMFARM" bundle verify "$WORK/d.bundle"
[ -s "$WORK/d.bundle/data/fc1.bin" ] && pass "a D layer carries A's encoding" || fail "a D layer carries A's encoding"
expect_exit 2 "create with a bad layer name" "$SPMMFARM" bundle create --arch sm_90 -o "$B" "a/b=$WORK/w1.smtx:512:$CFG"
expect_exit 2 "create with a bad --arch" "$SPMMFARM" bundle create --arch gfx90a -o "$B" "fc1=$WORK/w1.smtx:512:$CFG"
expect_exit 0 "create a two-layer bundle" "$SPMMFARM" bundle create --arch sm_90 --bias -o "$B" \
    "fc1=$WORK/w1.smtx:512:$CFG" "fc2=$WORK/w2.mtx:256:dense"
for f in manifest.json kernels/fc1.cubin kernels/fc2.cubin src/fc1.ptx src/fc2.cu data/fc2.bin; do
    [ -f "$B/$f" ] && pass "bundle has $f" || fail "bundle has $f"
done
[ ! -e "$B.tmp" ] && pass "no $B.tmp left" || fail "no $B.tmp left"
expect_exit 1 "create over an existing bundle" "$SPMMFARM" bundle create --arch sm_90 -o "$B" "fc1=$WORK/w1.smtx:512:$CFG"
expect_grep "already exists" "$WORK/err" "says it exists"
expect_exit 0 "create --replace" "$SPMMFARM" bundle create --arch sm_90 --bias --replace -o "$B" \
    "fc1=$WORK/w1.smtx:512:$CFG" "fc2=$WORK/w2.mtx:256:dense"

# ---- inspect ---------------------------------------------------------------
expect_exit 0 "inspect" "$SPMMFARM" bundle inspect "$B"
expect_grep "^gpu: +unspecified/sm_90/0sm \(compute capability 9\.0\)" "$WORK/out" "inspect: GPU"
expect_grep "^fc1 +192 +96 +512 U +$CFG +- +- bias$" "$WORK/out" "inspect: the U layer"
expect_grep "^fc2 +100 +64 +256 dense +dense " "$WORK/out" "inspect: the dense layer"
expect_exit 0 "inspect --json" "$SPMMFARM" bundle inspect "$B" --json
[ "$(json_get "$WORK/out" '[(l["name"], l["template"], l["m"], l["k"], l["n"], l["bias"], (l["data"] or {}).get("bytes")) for l in d["layers"]]')" \
    = "[('fc1', 'U', 192, 96, 512, True, None), ('fc2', 'dense', 100, 64, 256, True, 65600)]" ] \
    && pass "inspect --json: layers" || fail "inspect --json: layers"
[ "$(json_get "$WORK/out" '(d["version"], d["gpu"]["compute_capability"], d["simulated"], d["layers"][0]["time_us"])')" \
    = "(1, '9.0', False, None)" ] && pass "inspect --json: header" || fail "inspect --json: header"
cmp -s "$WORK/out" "$B/manifest.json" && pass "inspect --json is the manifest as written" \
    || fail "inspect --json is the manifest as written"

# ---- verify without a GPU, and tampering ------------------------------------
HAVE_GPU=$("$SPMMFARM" devices --json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["devices"]) > 0)' 2>/dev/null)
if [ "$HAVE_GPU" != True ]; then
    expect_exit 0 "verify without a GPU" "$SPMMFARM" bundle verify "$B"
    expect_grep "^no GPU: checksums and schema only" "$WORK/out" "says only checksums and schema"
    expect_exit 0 "verify --json without a GPU" "$SPMMFARM" bundle verify "$B" --json
    [ "$(json_get "$WORK/out" '(d["checksums"], d["ran"], d["layers"])')" = "(True, False, 2)" ] \
        && pass "verify --json: checksums only" || fail "verify --json: checksums only"
    expect_exit 0 "verify --l2 cold without a GPU" "$SPMMFARM" bundle verify "$B" --l2 cold
fi
# a GPU of another compute capability (the fake driver says 8.0): files only
expect_exit 0 "verify on a GPU of another compute capability" \
    env SPMMFARM_LIBCUDA="$FAKE" SF_FAKE_CUDA_CC=80 "$SPMMFARM" bundle verify "$B"
expect_grep "Fake H100\) is compute capability 8\.0; the kernels are for 9\.0" "$WORK/out" "names both"
# a bf16 layer is run with buffers of its type (sfrt_launch_typed): the fake
# driver (compute capability 9.0) accepts the launch and computes nothing,
# so the check fails on C left unwritten, not on the runtime's dtype refusal
# (session 22 found bundle verify launching every layer as fp32 on the H100)
expect_exit 0 "a bf16 bundle (sim)" "$SPMMFARM" local "$WORK/w1.smtx" --n 16 --precision bf16 --templates T \
    --max-configs 2 --backend sim --store "$WORK/st16" -o "$WORK/b16" --allow-simulated -q
expect_exit 1 "verify a bf16 bundle on the fake driver" env SPMMFARM_LIBCUDA="$FAKE" "$SPMMFARM" bundle verify \
    "$WORK/b16" --allow-untrusted --matrix w1="$WORK/w1.smtx"
expect_grep "FAILED: C\[0, 0\] is nan: unwritten" "$WORK/out" "... launched with bf16 buffers (C poisoned with bf16 NaN)"
grep -q "not float32" "$WORK/out" && fail "... refused as fp32 buffers"
expect_exit 2 "verify --matrix of an unknown layer" "$SPMMFARM" bundle verify "$B" --matrix fc9="$WORK/w1.smtx"

cp -r "$B" "$WORK/t.bundle"
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[-3]^=1; open(p,"wb").write(b)' "$WORK/t.bundle/kernels/fc1.cubin"
expect_exit 1 "verify a tampered cubin" "$SPMMFARM" bundle verify "$WORK/t.bundle"
expect_grep "kernels/fc1.cubin: SHA-256 .* does not match" "$WORK/err" "names the tampered file"
rm -rf "$WORK/t.bundle"; cp -r "$B" "$WORK/t.bundle"
printf 'x' >> "$WORK/t.bundle/data/fc2.bin"
expect_exit 1 "verify a grown data file" "$SPMMFARM" bundle verify "$WORK/t.bundle"
expect_grep "data/fc2.bin: 65601 bytes, the manifest says 65600" "$WORK/err" "names the size"
rm -rf "$WORK/t.bundle"; cp -r "$B" "$WORK/t.bundle"
rm "$WORK/t.bundle/src/fc2.cu"
expect_exit 1 "verify with a missing source" "$SPMMFARM" bundle verify "$WORK/t.bundle"
rm -rf "$WORK/t.bundle"; cp -r "$B" "$WORK/t.bundle"
sed 's/"version":\t1/"version":\t3/' "$B/manifest.json" > "$WORK/t.bundle/manifest.json"
expect_exit 2 "verify a future format version" "$SPMMFARM" bundle verify "$WORK/t.bundle"
expect_grep "version 3 is not supported" "$WORK/err" "says the version"
expect_exit 2 "inspect a future format version" "$SPMMFARM" bundle inspect "$WORK/t.bundle"
sed 's/"order":\t1/"order":\t7/' "$B/manifest.json" > "$WORK/t.bundle/manifest.json"
expect_exit 2 "verify a malformed field" "$SPMMFARM" bundle verify "$WORK/t.bundle"
expect_grep "layers\[0\]\.launch\.order: 7 is out of range" "$WORK/err" "names the field"
rm -rf "$WORK/t.bundle"

# ---- signatures (issue 24, 9): consistent tampering, links, other keys -----
"$SPMMFARM" bundle verify "$B" >"$WORK/out" 2>&1
expect_grep "^signature: signed by $(cat "$SPMMFARM_STORE/bundle-signing.pub") \(a trusted key\)" "$WORK/out" \
    "verify: signed by the default store's key, trusted"
# tamper CHANGE: the manifest rewritten consistently (new SHA-256 and sizes)
tamper () {
    rm -rf "$WORK/t.bundle"; cp -r "$B" "$WORK/t.bundle"
    python3 - "$WORK/t.bundle" "$1" <<'PY'
import hashlib, json, sys
b, change = sys.argv[1], sys.argv[2]
m = json.load(open(b + "/manifest.json"))
l = m["layers"][0]
if change == "cubin":
    data = bytearray(open(b + "/" + l["cubin"]["file"], "rb").read()); data[-3] ^= 1
    open(b + "/" + l["cubin"]["file"], "wb").write(data)
    l["cubin"]["sha256"] = hashlib.sha256(data).hexdigest(); l["cubin"]["bytes"] = len(data)
elif change == "launch":
    l["launch"]["block_threads"] = 256
elif change == "simulated":  # a sim bundle passed off as measured, or the reverse
    m["simulated"] = not m["simulated"]
    for layer in m["layers"]:
        layer["simulated"] = m["simulated"]
json.dump(m, open(b + "/manifest.json", "w"), indent="\t")
PY
}
for change in cubin launch simulated; do
    tamper $change
    expect_exit 1 "verify a consistently tampered bundle ($change)" "$SPMMFARM" bundle verify "$WORK/t.bundle"
    expect_grep "the signature does not match manifest.json" "$WORK/err" "says the signature does not match ($change)"
done
expect_exit 1 "verify --allow-untrusted still refuses a broken signature" "$SPMMFARM" bundle verify "$WORK/t.bundle" \
    --allow-untrusted
rm "$WORK/t.bundle/manifest.sig"
expect_exit 1 "verify a tampered bundle whose signature was removed" "$SPMMFARM" bundle verify "$WORK/t.bundle"
expect_grep "not signed" "$WORK/err" "says it is not signed"
expect_exit 0 "--allow-untrusted accepts an unsigned bundle, and says so" "$SPMMFARM" bundle verify "$WORK/t.bundle" \
    --allow-untrusted
expect_grep "^signature: NOT TRUSTED \(not signed" "$WORK/out" "says NOT TRUSTED"
# the same bundle signed by another store's key
SPMMFARM_STORE="$WORK/other.store" "$SPMMFARM" bundle create --arch sm_90 --bias -o "$WORK/o.bundle" \
    "fc1=$WORK/w1.smtx:512:$CFG" "fc2=$WORK/w2.mtx:256:dense" >/dev/null 2>&1
expect_exit 1 "verify a bundle signed by an untrusted key" "$SPMMFARM" bundle verify "$WORK/o.bundle"
expect_grep "not a trusted key" "$WORK/err" "says the key is not trusted"
expect_exit 0 "trusted with --key" "$SPMMFARM" bundle verify "$WORK/o.bundle" --key "$WORK/other.store/bundle-signing.pub"
expect_exit 0 "trusted through SPMMFARM_TRUSTED_KEYS" env SPMMFARM_TRUSTED_KEYS="$(cat "$WORK/other.store/bundle-signing.pub")" \
    "$SPMMFARM" bundle verify "$WORK/o.bundle"
# a cubin replaced by a symbolic link (to a copy with the very same bytes)
rm -rf "$WORK/t.bundle"; cp -r "$B" "$WORK/t.bundle"
mv "$WORK/t.bundle/kernels/fc1.cubin" "$WORK/outside.cubin"
ln -s "$WORK/outside.cubin" "$WORK/t.bundle/kernels/fc1.cubin"
expect_exit 1 "verify a bundle with a symbolic link" "$SPMMFARM" bundle verify "$WORK/t.bundle"
expect_grep "kernels/fc1.cubin: a symbolic link \(refused" "$WORK/err" "names the link"
rm "$WORK/t.bundle/kernels/fc1.cubin"; mv "$WORK/t.bundle/kernels" "$WORK/k"; ln -s "$WORK/k" "$WORK/t.bundle/kernels"
mv "$WORK/outside.cubin" "$WORK/k/fc1.cubin"
expect_exit 1 "verify a bundle whose kernels folder is a link" "$SPMMFARM" bundle verify "$WORK/t.bundle"
expect_grep "its folder is a symbolic link" "$WORK/err" "names the linked folder"
rm -rf "$WORK/t.bundle" "$WORK/k" "$WORK/o.bundle"

# ---- the runtime library: dependencies and exports --------------------------
if [ -f "$RT_LIB" ] && command -v objdump >/dev/null 2>&1; then
    objdump -p "$RT_LIB" | awk '/NEEDED/ {print $2}' > "$WORK/needed"
    if grep -v -E '^(libc|libdl|libpthread|libm|libsodium|ld-linux.*)\.so' "$WORK/needed" | grep -q .; then
        fail "libspmmfarm-rt needs only libc and libsodium: $(tr '\n' ' ' < "$WORK/needed")"
    else pass "libspmmfarm-rt needs only libc and libsodium ($(tr '\n' ' ' < "$WORK/needed"))"; fi
    if nm -D --defined-only "$RT_LIB" | awk '{print $3}' | grep -v '^sfrt_' | grep -q .; then
        fail "libspmmfarm-rt exports only sfrt_ symbols"
    else pass "libspmmfarm-rt exports only sfrt_ symbols"; fi
fi

# ---- Python: import and manifest without the library; the fake driver -------
expect_exit 0 "import spmmfarm_rt without the library or a GPU" \
    env PYTHONPATH="$PY" SPMMFARM_RT_LIB=/nonexistent python3 -c 'import spmmfarm_rt'
expect_exit 0 "read_manifest in Python" env PYTHONPATH="$PY" python3 -c '
import sys, spmmfarm_rt
m = spmmfarm_rt.read_manifest(sys.argv[1])
assert [l["name"] for l in m["layers"]] == ["fc1", "fc2"], m
assert m["gpu"]["compute_capability"] == "9.0"' "$B"
expect_exit 0 "Python binding against the fake driver" \
    env "$PYENV" PYTHONPATH="$PY" SPMMFARM_RT_LIB="$RT_LIB" SPMMFARM_LIBCUDA="$FAKE" python3 -c '
import ctypes, sys, spmmfarm_rt as rt
bundle_dir, fake = sys.argv[1], sys.argv[2]
with rt.Bundle(bundle_dir, device=0) as b:
    assert b.compute_capability == (9, 0) and b.gpu_type == "unspecified/sm_90/0sm", vars(b)
    assert [l.name for l in b.layers] == ["fc1", "fc2"]
    fc1, fc2 = b.layer("fc1"), b["fc2"]
    assert (fc1.m, fc1.k, fc1.tuned_n, fc1.template, fc1.bias, fc1.relu) == (192, 96, 512, "U", True, False)
    assert fc1.time_us is None and fc1.verified_error is None and not fc1.has_data
    assert fc2.template == "dense" and fc2.has_data and fc2.launch_rule["cols_per_block"] in (16, 64, 128)  # sf_tcdense tiles
    assert fc1.grid(1000) == (3, 8, 1), fc1.grid(1000)
    fc1.launch(0x1000, 0x2000, n=1000, bias=0x3000, stream=0x77)
    class Launch(ctypes.Structure):
        _fields_ = [("count", ctypes.c_int), ("entry", ctypes.c_char * 128),
                    ("grid", ctypes.c_uint * 3), ("block", ctypes.c_uint * 3), ("shared", ctypes.c_uint),
                    ("stream", ctypes.c_void_p), ("ctx_device", ctypes.c_int),
                    ("b", ctypes.c_uint64), ("c", ctypes.c_uint64), ("bias", ctypes.c_uint64),
                    ("adata", ctypes.c_uint64), ("n", ctypes.c_uint32), ("func_max_shared", ctypes.c_int)]
    last = Launch()
    ctypes.CDLL(fake).sf_fake_cuda_last_launch(ctypes.byref(last))
    assert (last.count, last.entry.decode(), tuple(last.grid), last.block[0], last.stream,
            last.b, last.c, last.n, last.bias) == (1, fc1.entry, (3, 8, 1), 64, 0x77,
            0x1000, 0x2000, 1000, 0x3000), (last.entry, tuple(last.grid), last.n)
    for call, status in [(lambda: fc1.launch(0x1000, 0x2000, n=1000), rt.ERR_INVALID),
                         (lambda: fc1.launch(0x1004, 0x2000, n=1000, bias=0x3000), rt.ERR_INVALID),
                         (lambda: b.layer("fc9"), rt.ERR_NOTFOUND)]:
        try:
            call()
            raise SystemExit("no error")
        except rt.Error as e:
            assert e.status == status and str(e), (e.status, str(e))
try:
    b.layer("fc1").launch(0x1000, 0x2000, n=4, bias=0x3000)
    raise SystemExit("launched on a closed bundle")
except rt.Error as e:
    assert "closed" in str(e)
' "$B" "$FAKE"
expect_exit 0 "Python: another compute capability is refused" \
    env "$PYENV" PYTHONPATH="$PY" SPMMFARM_RT_LIB="$RT_LIB" SPMMFARM_LIBCUDA="$FAKE" SF_FAKE_CUDA_CC=86 python3 -c '
import sys, spmmfarm_rt as rt
try:
    rt.Bundle(sys.argv[1])
    raise SystemExit("opened")
except rt.Error as e:
    assert e.status == rt.ERR_DEVICE and "is 8.6" in str(e), str(e)' "$B"

# ---- the C demo without a GPU -----------------------------------------------
if [ -x "$RT_DEMO" ]; then
    expect_exit 0 "rt_demo --help" "$RT_DEMO" --help
    expect_exit 2 "rt_demo without a bundle" "$RT_DEMO"
    expect_exit 1 "rt_demo without a driver" env SPMMFARM_LIBCUDA=/nonexistent/libcuda.so.1 "$RT_DEMO" "$B"
    expect_grep "no GPU here" "$WORK/err" "rt_demo says there is no GPU"
fi

# ---- a real GPU ----------------------------------------------------------------
if [ "$HAVE_GPU" = True ]; then
    G="$WORK/gpu.bundle"
    "$SPMMFARM" gen --m 768 --k 768 --sparsity 0.9 --seed 1 -o "$WORK/l90.mtx" >/dev/null
    expect_exit 0 "create for this GPU" "$SPMMFARM" bundle create --bias --relu -o "$G" \
        "u90=$WORK/l90.mtx:4096:U:r32.v4.t64.g2.o1.m128.sim" "odd=$WORK/w1.smtx:333:$CFG" \
        "dense=$WORK/w2.mtx:1000:dense"
    expect_exit 0 "verify on the GPU against the CPU reference" "$SPMMFARM" bundle verify "$G" \
        --matrix u90="$WORK/l90.mtx" --matrix odd="$WORK/w1.smtx"
    cat "$WORK/out"
    expect_grep "^3 of 3 layers ok on GPU 0" "$WORK/out" "every layer verified"
    expect_exit 0 "verify --json on the GPU" "$SPMMFARM" bundle verify "$G" --json --n 1000 \
        --matrix u90="$WORK/l90.mtx" --matrix odd="$WORK/w1.smtx"
    [ "$(json_get "$WORK/out" 'all(l["status"] == "ok" and l["compared"] and l["error"] < 1e-5 and l["time_us"] > 0 for l in d["layers"])')" = True ] \
        && pass "verify --json: compared, small errors, times" || fail "verify --json: compared, small errors, times"
    expect_exit 2 "verify with the wrong matrix" "$SPMMFARM" bundle verify "$G" --matrix u90="$WORK/w2.mtx"
    expect_grep "is not layer u90's matrix" "$WORK/err" "names the wrong matrix"
    expect_exit 0 "verify without weights runs the layers" "$SPMMFARM" bundle verify "$G"
    expect_grep "ran \(every output written, no reference" "$WORK/out" "says what was checked"
    if [ -x "$RT_DEMO" ]; then
        expect_exit 0 "rt_demo on the GPU" "$RT_DEMO" "$G" --matrix u90="$WORK/l90.mtx" \
            --matrix dense="$WORK/w2.mtx"
        cat "$WORK/out"
        expect_grep "^u90 .* error [0-9.e-]+ ok" "$WORK/out" "rt_demo: u90 matches"
        expect_grep "^3 of 3 layers ok" "$WORK/out" "rt_demo: all layers"
    fi
    if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
        expect_exit 0 "torch_demo on the GPU" env SPMMFARM_RT_LIB="$RT_LIB" \
            python3 "$TOP_SRCDIR/examples/torch_demo.py" "$G" u90 --matrix "$WORK/l90.mtx"
        cat "$WORK/out"
        expect_grep "^spmmfarm [0-9.]+ us .*torch dense fp32 [0-9.]+ us" "$WORK/out" "torch_demo: times"
        expect_exit 0 "torch_demo, dense layer" env SPMMFARM_RT_LIB="$RT_LIB" \
            python3 "$TOP_SRCDIR/examples/torch_demo.py" "$G" dense
        cat "$WORK/out"
    fi
fi
finish
