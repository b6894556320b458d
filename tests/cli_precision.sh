#!/bin/sh
# Precision tiers through the user's commands (issue 19): tune-local's JSON
# names the precision and layout (and keeps every key it had); a tier the
# worker cannot search yet is refused by name; a bundle layer of another
# precision is launched only with buffers of its dtype, by the runtime and
# by the Python binding (against the fake CUDA driver: no GPU needed).
. "$(dirname "$0")/testlib.sh"

RT_LIB=${SPMMFARM_RT_LIB:-$TOP_BUILDDIR/runtime/.libs/libspmmfarm-rt.so.0}
FAKE="$TOP_BUILDDIR/tests/.libs/libfakecudak.so"
PY="$TOP_SRCDIR/python"
export PYTHONDONTWRITEBYTECODE=1

# ---- tune-local --json: its keys, and precision/layout -----------------------
"$SPMMFARM" gen --m 16 --k 24 --sparsity 0.5 --seed 5 -o "$WORK/a.mtx" >/dev/null 2>&1
expect_exit 0 "tune-local --json (sim)" "$SPMMFARM" tune-local "$WORK/a.mtx" --n 8 --backend sim --max-configs 2 \
    --no-store --json -q
python3 - "$WORK/out" <<'PY' && pass "tune-local --json: every key it had, and precision/layout" || fail "tune-local --json keys"
import json, sys
d = json.load(open(sys.argv[1]))
had = ["strategy", "backend", "simulated", "timing", "gpu", "best", "best_generated_us", "baselines", "search",
       "candidates", "from_store", "store", "matrix", "hash", "m", "k", "n", "nnz", "sparsity"]
missing = [k for k in had if k not in d]
assert not missing, missing
assert d["precision"] == "fp32" and d["layout"] == "kn", (d.get("precision"), d.get("layout"))
PY
expect_exit 0 "tune-local --precision bf16 (sim: the tier's dense candidates)" \
    "$SPMMFARM" tune-local "$WORK/a.mtx" --n 8 --backend sim --max-configs 2 --no-store --precision bf16 -q --json
[ "$(json_get "$WORK/out" '(d["precision"], d["simulated"])')" = "('bf16', True)" ] \
    && pass "tune-local searched in bf16, labelled simulated" || fail "tune-local bf16: $(head -c 300 "$WORK/out")"
expect_exit 0 "tune-local --layout nk (issue 23: tests/cli_nk.sh)" \
    "$SPMMFARM" tune-local "$WORK/a.mtx" --n 8 --backend sim --max-configs 2 --no-store --layout nk -q --json
[ "$(json_get "$WORK/out" 'd["layout"]')" = nk ] && pass "tune-local searched in nk" || fail "tune-local nk"

# ---- template T in the 16-bit tiers (sim backend: times modelled) ------------------
# every T candidate is in the JSON, by its config text, beside dense
T_ALL='[c["config"] for c in d["candidates"] if c["config"].startswith("T:")]'
expect_exit 0 "tune-local --precision bf16 measures template T" \
    "$SPMMFARM" tune-local "$WORK/a.mtx" --n 8 --backend sim --max-configs 3 --no-store --precision bf16 -q --json
got=$(json_get "$WORK/out" "(len($T_ALL), all(c['status'] == 'ok' for c in d['candidates']), d['simulated'])")
[ "$got" = "(3, True, True)" ] && pass "bf16: 3 T candidates measured (sampled), labelled simulated" \
    || fail "bf16 T candidates: $got: $(head -c 400 "$WORK/out")"
# the session-12 variants (a1, b1; f1 from N = 256) are sampled; SPMMFARM_T_VARIANTS=0 leaves them out
VARIANTS="sum(1 for c in $T_ALL if any(x in c for x in ('.a1', '.b1', '.f1')))"
expect_exit 0 "bf16 T with the variants" "$SPMMFARM" tune-local "$WORK/a.mtx" --n 8 --backend sim --max-configs 24 \
    --no-store --precision bf16 -q --json
[ "$(json_get "$WORK/out" "$VARIANTS > 0")" = True ] && pass "the sample holds a1/b1 variants" \
    || fail "no variant sampled: $(json_get "$WORK/out" "$T_ALL")"
SPMMFARM_T_VARIANTS=0 expect_exit 0 "bf16 T without the variants" "$SPMMFARM" tune-local "$WORK/a.mtx" --n 8 \
    --backend sim --max-configs 24 --no-store --precision bf16 -q --json
got=$(json_get "$WORK/out" "(len($T_ALL) > 0, $VARIANTS)")
[ "$got" = "(True, 0)" ] && pass "SPMMFARM_T_VARIANTS=0: session 11's T kernels only" || fail "without variants: $got"
# e2 (session 20) took e1's place in T's searched space: e0 and e2 sampled, no e1
ENC="sorted(set(c.split('.')[0] for c in $T_ALL))"
expect_exit 0 "bf16 T with its defaults" "$SPMMFARM" tune-local "$WORK/a.mtx" --n 8 --backend sim --max-configs 24 \
    --no-store --precision bf16 -q --json
got=$(json_get "$WORK/out" "('T:e2' in $ENC, 'T:e1' in $ENC, all(c['status'] == 'ok' for c in d['candidates']))")
[ "$got" = "(True, False, True)" ] && pass "T's sample: e2 in place of e1, every candidate ok" \
    || fail "T's encodings: $got: $(json_get "$WORK/out" "$ENC")"
expect_exit 0 "tune-local --precision fp16 --templates D" \
    "$SPMMFARM" tune-local "$WORK/a.mtx" --n 8 --backend sim --max-configs 3 --no-store --precision fp16 \
    --templates D -q --json
[ "$(json_get "$WORK/out" "(len(d['candidates']), d['best']['config'])")" = "(0, 'dense')" ] \
    && pass "--templates without T: no T candidate" || fail "--templates D: $(head -c 400 "$WORK/out")"
expect_exit 0 "tune-local fp32 (T is not an fp32 template)" \
    "$SPMMFARM" tune-local "$WORK/a.mtx" --n 8 --backend sim --max-configs 2 --no-store -q --json
[ "$(json_get "$WORK/out" "len($T_ALL)")" = 0 ] && pass "fp32: no T candidate" || fail "fp32 ran T"
# a layer where the model's T beats dense (A's 64 MB against a 7 MB encoding):
# the winner's text round-trips through the store, and export bundles it
"$SPMMFARM" gen --m 4096 --k 8192 --sparsity 0.97 --seed 5 -o "$WORK/big.smtx" >/dev/null 2>&1
ST="$WORK/t-store"
expect_exit 0 "bf16 search with a T winner" "$SPMMFARM" tune-local "$WORK/big.smtx" --n 16 --backend sim \
    --max-configs 3 --precision bf16 --store "$ST" -q --json
won=$(json_get "$WORK/out" "d['best']['config']")
case "$won" in T:*) pass "the winner is template T: $won";; *) fail "winner $won, not T";; esac
expect_exit 0 "the same search again" "$SPMMFARM" tune-local "$WORK/big.smtx" --n 16 --backend sim \
    --max-configs 3 --precision bf16 --store "$ST" -q --json
got=$(json_get "$WORK/out" "(d['from_store'], d['best']['template'], d['best']['config'], len($T_ALL))")
[ "$got" = "(True, 'T', '$won', 3)" ] && pass "the T winner and candidates come back from the store" \
    || fail "from the store: $got"
expect_exit 0 "store verify (T records)" "$SPMMFARM" store verify "$ST"
expect_grep ", 0 bad" "$WORK/out" "every T record decodes"
expect_exit 0 "store dump kernels" "$SPMMFARM" store dump "$ST" --db kernels --json
expect_grep "\"config\":\"$won\"" "$WORK/out" "the stored kernel is the T winner's"
expect_exit 0 "export of a T winner" "$SPMMFARM" export 1 --store "$ST" -o "$WORK/tt.bundle" --allow-simulated
got=$(python3 -c "import json; l = json.load(open('$WORK/tt.bundle/manifest.json'))['layers'][0]
print(l['template'], l['config'], l['dtypes']['b'] if 'dtypes' in l else '', l['data']['file'], l['source']['file'])")
case "$got" in "T $won "*"data/"*".cu") pass "the bundle's layer is the T winner with its encoding: $got";;
    *) fail "the T layer: $got";; esac
# export signs the bundle with the store's key (issue 24): trust that key
expect_exit 0 "bundle verify of the T bundle" "$SPMMFARM" bundle verify "$WORK/tt.bundle" --key "$ST/bundle-signing.pub"
expect_grep "1 template T encodings decode as their kernels read them" "$WORK/out" \
    "verify decodes the T encoding"
# the schema: a T layer needs its data file and a 16-bit precision
python3 - "$WORK/tt.bundle" "$SPMMFARM" <<'PY' && pass "a T layer without its data, or in fp32, is refused by the schema" \
    || fail "the schema took a broken T layer"
import json, shutil, subprocess, sys
src, spmmfarm = sys.argv[1], sys.argv[2]
for what, want in (("nodata", "needs a data file"), ("fp32", "a template T layer is bf16 or fp16")):
    dst = src + "-" + what
    shutil.copytree(src, dst)
    m = json.load(open(dst + "/manifest.json"))
    l = m["layers"][0]
    if what == "nodata":
        l["data"] = None
    else:
        l["precision"] = "fp32"
        l.pop("dtypes", None)
    json.dump(m, open(dst + "/manifest.json", "w"))
    r = subprocess.run([spmmfarm, "bundle", "verify", dst], capture_output=True, text=True)
    if r.returncode == 0 or want not in r.stderr:
        print(what, r.returncode, r.stderr, file=sys.stderr)
        sys.exit(1)
PY
# template T in nk (issue 23: nn.Linear's X N x K in, Y N x M out): the same
# layer tuned in nk has a T winner whose kernel is the nk form, exported as
# an nk layer
ST2="$WORK/t-store-nk"
expect_exit 0 "bf16 nk search with a T winner" "$SPMMFARM" tune-local "$WORK/big.smtx" --n 16 --backend sim \
    --max-configs 3 --precision bf16 --layout nk --store "$ST2" -q --json
won_nk=$(json_get "$WORK/out" "(d['layout'], d['best']['config'], len($T_ALL))")
case "$won_nk" in "('nk', 'T:"*"', 3)") pass "nk: 3 T candidates, the winner is template T: $won_nk";;
    *) fail "nk: $won_nk";; esac
expect_exit 0 "export of an nk T winner" "$SPMMFARM" export 1 --store "$ST2" -o "$WORK/tnk.bundle" --allow-simulated
python3 - "$WORK/tnk.bundle" <<'PY' && pass "the nk bundle's T layer is the nk kernel (layout, entry, source)" \
    || fail "the nk T layer"
import json, os, sys
d = sys.argv[1]
l = json.load(open(d + "/manifest.json"))["layers"][0]
assert l["template"] == "T" and l["layout"] == "nk" and l["config"].startswith("T:"), l
assert l["entry"].endswith("_nk"), l["entry"]
src = open(os.path.join(d, l["source"]["file"])).read()
assert "#define NK 1\n" in src and l["entry"] in src, l["source"]
PY
expect_exit 0 "bundle verify of the nk T bundle" "$SPMMFARM" bundle verify "$WORK/tnk.bundle" \
    --key "$ST2/bundle-signing.pub"
expect_grep "1 template T encodings decode as their kernels read them" "$WORK/out" \
    "verify decodes the nk T encoding"

# ---- a store written before requests had a type ----------------------------------
# (tests/data/store-pre-request: tune-local of spmmfarm 0.1.0 at 132dfaf)
OLD="$WORK/old-store"
mkdir -p "$OLD" && cp "$TEST_DATA/store-pre-request/data.mdb" "$OLD/" && chmod u+w "$OLD/data.mdb"
A="$TEST_DATA/store-pre-request/a.mtx"
expect_exit 0 "an older store verifies" "$SPMMFARM" store verify "$OLD"
expect_grep ", 0 bad" "$WORK/out" "every record of the older store decodes"
expect_exit 0 "store dump of the older store" "$SPMMFARM" store dump "$OLD" --db campaigns --json
version=$("$SPMMFARM" --version | sed 's/^spmmfarm //')
# (--l2 warm: its searches were timed warm; a warm request keeps their key)
for bias in "" --bias; do
    expect_exit 0 "tune-local $bias on the older store" "$SPMMFARM" tune-local "$A" --n 8 --backend sim \
        --max-configs 2 $bias --l2 warm --store "$OLD" --json -q
    got=$(json_get "$WORK/out" '(d["from_store"], d["store"].get("campaign"), d["precision"])')
    if [ "$version" = 0.1.0 ]; then
        # the same request, the same key: answered by the campaign it wrote
        want="(True, $([ -z "$bias" ] && echo 1 || echo 2), 'fp32')"
    else
        # its key names the version that measured it: searched again
        want="(False, 3, 'fp32')"
    fi
    [ "$got" = "$want" ] && pass "tune-local $bias on the older store: $got" || fail "tune-local $bias: $got, not $want"
    [ "$version" = 0.1.0 ] || break
done
# N = 8 is decode: by default (--l2 auto) timed with a cold L2, which the
# older store's warm campaigns do not answer
expect_exit 0 "tune-local (l2 auto) on the older store" "$SPMMFARM" tune-local "$A" --n 8 --backend sim \
    --max-configs 2 --store "$OLD" --json -q
got=$(json_get "$WORK/out" '(d["from_store"], d["l2"])')
[ "$got" = "(False, 'cold')" ] && pass "a cold search is not answered by warm campaigns" ||
    fail "l2 auto at N = 8 on the older store: $got"
# another precision is another request: not answered by fp32 campaigns
expect_exit 0 "tune-local --precision bf16 on the older store" "$SPMMFARM" tune-local "$A" --n 8 --backend sim \
    --max-configs 2 --precision bf16 --store "$OLD" --json -q
if grep -q '"from_store": *true' "$WORK/out"; then fail "bf16 answered by an fp32 campaign"; else
    pass "bf16 is not answered by an fp32 campaign"; fi

# ---- a bundle with a bf16 layer ------------------------------------------------
# bundle create writes fp32 layers; the manifest is then made to say that fc1
# is a bf16 layer (format version 2), as export writes one. The edit breaks
# the bundle's signature (issue 24: a changed manifest is refused), so its
# manifest.sig is removed and the unsigned bundle verified --allow-untrusted
"$SPMMFARM" gen --m 192 --k 96 --sparsity 0.9 --seed 3 -o "$WORK/w1.smtx" >/dev/null
"$SPMMFARM" gen --m 100 --k 64 --sparsity 0.5 --seed 4 -o "$WORK/w2.mtx" >/dev/null
B="$WORK/t.bundle"
expect_exit 0 "bundle create" "$SPMMFARM" bundle create --arch sm_90 --bias -o "$B" \
    "fc1=$WORK/w1.smtx:512:U:r32.v4.t32.g2.o1.m128.sim" "fc2=$WORK/w2.mtx:256:dense"
python3 - "$B/manifest.json" <<'PY'
import json, sys
p = sys.argv[1]
m = json.load(open(p))
assert m["version"] == 1 and m["layers"][0]["precision"] == "fp32", m["layers"][0]
assert m["layers"][0]["dtypes"] == {"a": "float32", "b": "float32", "c": "float32"}
m["version"] = 2
m["layers"][0]["precision"] = "bf16"
m["layers"][0]["dtypes"] = {"a": "bfloat16", "b": "bfloat16", "c": "bfloat16"}
json.dump(m, open(p, "w"), indent=1)
PY
expect_exit 1 "the edited manifest no longer matches its signature" "$SPMMFARM" bundle verify "$B"
rm -f "$B/manifest.sig"
expect_exit 0 "a bundle with a bf16 layer verifies (schema, checksums)" "$SPMMFARM" bundle verify "$B" --json \
    --allow-untrusted
# a version-1 manifest cannot hold one
sed 's/"version": 2/"version": 1/' "$B/manifest.json" > "$WORK/v1.json"
mkdir -p "$WORK/v1.bundle" && cp -r "$B"/* "$WORK/v1.bundle/" && cp "$WORK/v1.json" "$WORK/v1.bundle/manifest.json"
expect_exit 2 "a bf16 layer in a version-1 manifest is refused" "$SPMMFARM" bundle verify "$WORK/v1.bundle" \
    --allow-untrusted
expect_grep "needs bundle format version 2" "$WORK/err" "the refusal says why"

expect_exit 0 "Python: layers name their dtypes; a launch of another dtype is refused" \
    env $SF_PYENV PYTHONPATH="$PY" SPMMFARM_RT_LIB="$RT_LIB" SPMMFARM_LIBCUDA="$FAKE" python3 -c '
import ctypes, sys, spmmfarm_rt as rt

class Tensor:
    """Enough of a torch tensor for the binding: shape, dtype, data_ptr."""
    def __init__(self, shape, dtype, ptr):
        self.shape, self.dtype, self.ptr = shape, dtype, ptr
    def data_ptr(self):
        return self.ptr

with rt.Bundle(sys.argv[1], device=0) as b:
    fc1, fc2 = b["fc1"], b["fc2"]
    assert (fc1.precision, fc1.layout, fc1.dtype) == ("bf16", "kn", "bfloat16"), vars(fc1)
    assert (fc2.precision, fc2.layout, fc2.dtype) == ("fp32", "kn", "float32"), vars(fc2)
    # tensors of the layer dtype launch; pointers launch as the layer type
    fc1.launch(Tensor((96, 1000), "torch.bfloat16", 0x1000), Tensor((192, 1000), "torch.bfloat16", 0x2000),
               bias=Tensor((192,), "torch.bfloat16", 0x3000), stream=0x77)
    fc1.launch(0x1000, 0x2000, n=1000, bias=0x3000)
    fc2.launch(Tensor((64, 256), "torch.float32", 0x1000), Tensor((100, 256), "torch.float32", 0x2000),
               bias=Tensor((100,), "torch.float32", 0x3000), stream=1)
    # another dtype: refused before the library is asked
    for call in (lambda: fc1.launch(Tensor((96, 8), "torch.float32", 0x1000), Tensor((192, 8), "torch.float32", 0x2000),
                                    bias=0x3000),
                 lambda: fc2.launch(Tensor((64, 8), "torch.bfloat16", 0x1000), Tensor((100, 8), "torch.bfloat16", 0x2000))):
        try:
            call()
            raise SystemExit("launched with the wrong dtype")
        except ValueError as e:
            assert "the layer" in str(e) and "is " in str(e), str(e)
    # the library refuses too: the fp32 launch of the bf16 layer, a typed
    # launch of another type
    lib = ctypes.CDLL(rt.library_path())
    lib.sfrt_last_error.restype = ctypes.c_char_p
    assert lib.sfrt_launch(fc1._handle, None, ctypes.c_uint64(0x1000), ctypes.c_uint64(0x2000),
                           ctypes.c_int64(1000), ctypes.c_uint64(0x3000)) == rt.ERR_DTYPE
    assert b"bfloat16, not float32" in lib.sfrt_last_error(), lib.sfrt_last_error()
    assert lib.sfrt_launch_typed(fc2._handle, None, ctypes.c_uint64(0x1000), ctypes.c_uint64(0x2000),
                                 ctypes.c_int64(64), ctypes.c_uint64(0x3000), rt.DTYPES["float16"]) == rt.ERR_DTYPE
    assert b"float32, not float16" in lib.sfrt_last_error(), lib.sfrt_last_error()
' "$B"
finish
