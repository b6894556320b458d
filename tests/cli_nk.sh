#!/bin/sh
# The nk layout through the user's commands (issue 23), sim backend (the
# compiles are real, the times SIMULATED): tune-local --layout nk searches
# D's slab kernel and the dense kernels in nk (bf16: template T too), and
# says which templates have no nk kernel; kn and nk results of one layer are separate store records; a
# repeated nk request is answered from the nk record; local --layout nk
# exports a bundle whose layers are nk kernels (layout, config, source); an
# import manifest in nk tunes in nk. The kernels' numbers are checked on the
# GPU: tests/gpu/check-gpu-nk.sh.
. "$(dirname "$0")/testlib.sh"

"$SPMMFARM" gen --m 256 --k 384 --sparsity 0.95 --seed 3 -o "$WORK/a.mtx" >/dev/null 2>&1
S="$WORK/st"
SIM="--backend sim --max-configs 2 --compile-threads 2"

# ---- tune-local -------------------------------------------------------------------
SPMMFARM_LOG=info expect_exit 0 "tune-local --layout nk" "$SPMMFARM" tune-local "$WORK/a.mtx" --n 512 $SIM --store "$S" \
    --layout nk --json -q
cp "$WORK/out" "$WORK/nk.json"
python3 - "$WORK/nk.json" <<'PY' && pass "nk: D slab nk candidates only, dense nk kernels, the winner nk" || fail "nk search: $(head -c 600 "$WORK/nk.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["layout"] == "nk" and d["simulated"], d
cands = [c["config"] for c in d["candidates"]]
assert cands and all(c.startswith("D:") and ".e2." in c and c.endswith(".nk") for c in cands), cands
assert d["best"]["config"] == "dense" or d["best"]["config"].endswith(".nk"), d["best"]
PY
expect_grep "template U has no nk kernel yet" "$WORK/err" "nk: says template U has no nk kernel"
expect_exit 0 "tune-local --layout nk (text)" "$SPMMFARM" tune-local "$WORK/a.mtx" --n 512 $SIM --store "$S" --layout nk
expect_grep "N = 512, layout nk" "$WORK/out" "the text output names the layout"
expect_exit 0 "tune-local (kn) on the same store" "$SPMMFARM" tune-local "$WORK/a.mtx" --n 512 $SIM --store "$S" --json -q
[ "$(json_get "$WORK/out" 'd["layout"] == "kn" and not d.get("from_store") and any(c["config"].startswith("U:") for c in d["candidates"])')" = True ] \
    && pass "kn: searched anew (U among its candidates), not answered by the nk record" || fail "kn after nk: $(head -c 400 "$WORK/out")"
"$SPMMFARM" store dump "$S" --db results > "$WORK/dump" 2>&1
nk_keys=$(grep -c '| fp32 nk:' "$WORK/dump")
kn_keys=$(grep -vc '| fp32 nk:' "$WORK/dump")
[ "$nk_keys" -gt 0 ] && [ "$kn_keys" -gt 0 ] && ! grep '| fp32 nk:' "$WORK/dump" | grep -v '| dense | ' | grep -qv '\.nk |' \
    && pass "store: $nk_keys nk records (keys end in 'fp32 nk', configs in .nk), $kn_keys kn records" \
    || fail "store keys: nk $nk_keys, kn $kn_keys"
expect_exit 0 "tune-local --layout nk again" "$SPMMFARM" tune-local "$WORK/a.mtx" --n 512 $SIM --store "$S" --layout nk --json -q
[ "$(json_get "$WORK/out" 'd["layout"] == "nk" and d["from_store"]')" = True ] \
    && pass "the repeated nk request is answered from the store" || fail "nk again: $(head -c 300 "$WORK/out")"
SPMMFARM_LOG=info expect_exit 0 "tune-local --layout nk --precision bf16" "$SPMMFARM" tune-local "$WORK/a.mtx" --n 16 $SIM \
    --no-store --layout nk --precision bf16 --json -q
[ "$(json_get "$WORK/out" 'd["layout"] == "nk" and len(d["candidates"]) == 2 and all(c["config"].startswith("T:") for c in d["candidates"])')" = True ] \
    && pass "bf16 nk: template T's nk kernels beside the dense candidates" || fail "bf16 nk: $(head -c 300 "$WORK/out")"

# ---- local -> bundle ---------------------------------------------------------------
expect_exit 0 "local --layout nk -o (sim, --allow-simulated)" "$SPMMFARM" local "$WORK/a.mtx" --n 512 $SIM --budget 0 \
    --store "$WORK/st2" --layout nk -q -o "$WORK/a.bundle" --allow-simulated
expect_exit 0 "bundle inspect" "$SPMMFARM" bundle inspect "$WORK/a.bundle" --json
python3 - "$WORK/out" "$WORK/a.bundle" <<'PY' && pass "the bundle's layer is an nk kernel (layout, config, source)" || fail "bundle: $(head -c 600 "$WORK/out")"
import json, os, sys
d = json.load(open(sys.argv[1]))
l = d["layers"][0]
assert l["layout"] == "nk" and l["precision"] == "fp32", l
src = open(os.path.join(sys.argv[2], l["source"]["file"])).read()
assert "#define NK 1\n" in src, l["source"]
assert l["config"] == "dense" or l["config"].endswith(".nk"), l["config"]
PY
# ---- import --layout nk -> local --model -----------------------------------------
# a one-layer checkpoint with a bias, written by hand (no numpy needed)
python3 - "$WORK/a.mtx" "$WORK/ck.safetensors" <<'PY'
import json, struct, sys
rows = [l for l in open(sys.argv[1]) if not l.startswith("%")]
m, k, _ = map(int, rows[0].split())
w = [0.0] * (m * k)
for l in rows[1:]:
    i, j, v = l.split()
    w[(int(i) - 1) * k + int(j) - 1] = float(v)
data = struct.pack("<%df" % len(w), *w) + struct.pack("<%df" % m, *([0.5] * m))
head = {"fc.weight": {"dtype": "F32", "shape": [m, k], "data_offsets": [0, 4 * m * k]},
        "fc.bias": {"dtype": "F32", "shape": [m], "data_offsets": [4 * m * k, 4 * m * k + 4 * m]}}
h = json.dumps(head).encode()
h += b" " * (-len(h) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(h)) + h + data)
PY
expect_exit 0 "import --layout nk" "$SPMMFARM" import "$WORK/ck.safetensors" -o "$WORK/m.json" --tokens 64 --layout nk -q
expect_exit 0 "local --model (nk manifest)" "$SPMMFARM" local --model "$WORK/m.json" $SIM --budget 0 --store "$WORK/st3" \
    -q -o "$WORK/m.bundle" --allow-simulated --json
[ "$(json_get "$WORK/out" 'all(l.get("layout", "nk") == "nk" for l in d["layers"])')" = True ] \
    && pass "local tuned the manifest's layers in nk" || fail "local --model nk: $(head -c 300 "$WORK/out")"
"$SPMMFARM" bundle inspect "$WORK/m.bundle" --json > "$WORK/mb.json" 2>&1
[ "$(json_get "$WORK/mb.json" 'd["layers"][0]["layout"] == "nk" and d["layers"][0]["bias"]')" = True ] \
    && pass "its bundle: an nk layer with the fused bias" || fail "m.bundle: $(head -c 300 "$WORK/mb.json")"
finish
