#!/bin/sh
# spmmfarm import: a model manifest from a pruned safetensors checkpoint (one
# file, a sharded one through its index, a directory), the selection rules
# (pattern, exclude, named tensors, sparsity threshold, rank), biases, the
# manifest that `spmmfarm local --model` reads (precision and layout keys),
# and every refusal. Checkpoints are written by tests/ckpt_gen.py (stdlib).
. "$(dirname "$0")/testlib.sh"
GEN="python3 $TOP_SRCDIR/tests/ckpt_gen.py"
cd "$WORK" || exit 1

expect_exit 0 "import --help" "$SPMMFARM" import --help
expect_grep "min-sparsity S" "$WORK/out" "--help names the threshold"
expect_exit 0 "spmmfarm help lists import" "$SPMMFARM" help
expect_grep "^  import " "$WORK/out" "import is listed"
expect_exit 2 "no checkpoint" "$SPMMFARM" import -o m.json
expect_exit 2 "no output" "$SPMMFARM" import x.safetensors
expect_exit 2 "bad --min-sparsity" "$SPMMFARM" import x.safetensors -o m.json --min-sparsity 1.5
expect_exit 2 "bad --precision" "$SPMMFARM" import x.safetensors -o m.json --precision fp8
expect_exit 2 "bad --layout" "$SPMMFARM" import x.safetensors -o m.json --layout mk
expect_exit 2 "bad --tokens" "$SPMMFARM" import x.safetensors -o m.json --tokens 0
expect_exit 2 "no such checkpoint" "$SPMMFARM" import nothing.safetensors -o m.json
expect_grep "nothing.safetensors: no such file" "$WORK/err" "names the missing file"

# ---- one file: a BERT-like block (names as PyTorch writes them)
$GEN one.safetensors \
    enc.layer.0.query.weight:F32:48x32:0.9 enc.layer.0.query.bias:F32:48 \
    enc.layer.0.out.weight:BF16:32x48:0.95 \
    enc.layer.10.query.weight:F16:48x32:0.7 enc.layer.10.query.bias:F16:48 \
    enc.layer.2.query.weight:F32:48x32:0.3 \
    enc.layer.0.norm.weight:F32:32 emb.weight:F32:100x32:0.0 conv.weight:F32:8x3x3x3:0.9 \
    step:I64:1
expect_exit 0 "import a file with the defaults" "$SPMMFARM" import one.safetensors -o one.json --json
[ "$(json_get "$WORK/out" 'd["layers"] == 3 and d["with_bias"] == 2 and d["tensors"] == 10 and d["matched"] == 7 and d["not_2d"] == 2 and d["too_dense"] == 2 and d["n"] == 512 and d["precision"] == "fp32" and d["layout"] == "kn" and d["shards"] == 1')" = True ] \
    && pass "summary: 3 layers, 2 with a bias, 2 not 2-D and 2 too dense skipped" || fail "summary: $(cat "$WORK/out")"
[ "$(json_get one.json '[(l["name"], l["tensor"], l["file"], l["m"], l["k"], l["dtype"], l["bias"]) for l in d["layers"]] == [("enc.layer.0.out.weight", "enc.layer.0.out.weight", "one.safetensors", 32, 48, "BF16", False), ("enc.layer.0.query.weight", "enc.layer.0.query.weight", "one.safetensors", 48, 32, "F32", True), ("enc.layer.10.query.weight", "enc.layer.10.query.weight", "one.safetensors", 48, 32, "F16", True)]')" = True ] \
    && pass "layers in natural order, named after their weights, biases found, paths relative" || fail "layers: $(cat one.json)"
[ "$(json_get one.json 'd["n"] == 512 and d["precision"] == "fp32" and d["layout"] == "kn" and abs(d["layers"][0]["sparsity"] - 0.95) < 0.01 and d["name"]')" != False ] \
    && pass "manifest: n, precision, layout, sparsity" || fail "manifest header: $(head -c 300 one.json)"
expect_exit 1 "an existing manifest is kept" "$SPMMFARM" import one.safetensors -o one.json
expect_grep "exists \(--force replaces it\)" "$WORK/err" "says --force"
expect_exit 0 "text summary, --force" "$SPMMFARM" import one.safetensors -o one.json --force
expect_grep "^wrote one.json: 3 layers \(2 with a bias\) of 10 tensors" "$WORK/out" "text summary"
expect_grep "^next: spmmfarm local --model one.json" "$WORK/out" "says what comes next"

expect_exit 0 "--min-sparsity 0.25 --tokens 64 --precision bf16 --layout nk" "$SPMMFARM" import one.safetensors \
    -o low.json --min-sparsity 0.25 --tokens 64 --precision bf16 --layout nk -q
[ "$(json_get low.json 'len(d["layers"]) == 4 and d["n"] == 64 and d["precision"] == "bf16" and d["layout"] == "nk"')" = True ] \
    && pass "a lower threshold takes the 30 %% layer; tokens, precision, layout recorded" || fail "low.json"
[ -s "$WORK/out" ] && fail "-q printed $(cat "$WORK/out")" || pass "-q prints nothing"
expect_exit 0 "--pattern and --exclude" "$SPMMFARM" import one.safetensors -o pat.json --pattern '*.query.weight' \
    --exclude 'enc.layer.10.*' -q
[ "$(json_get pat.json '[l["name"] for l in d["layers"]]')" = "['enc.layer.0.query.weight']" ] \
    && pass "pattern and exclude select one layer" || fail "pattern: $(cat pat.json)"
expect_exit 0 "--tensor takes a dense one" "$SPMMFARM" import one.safetensors -o named.json --tensor emb.weight -q
[ "$(json_get named.json '[(l["name"], l["sparsity"]) for l in d["layers"]] == [("emb.weight", 0)]')" = True ] \
    && pass "--tensor alone: that tensor, whatever its sparsity" || fail "named: $(cat named.json)"

# ---- refusals, each naming what is wrong
expect_exit 2 "--tensor that is missing" "$SPMMFARM" import one.safetensors -o x.json --tensor enc.layer.9.query.weight
expect_grep "--tensor enc.layer.9.query.weight: no such tensor" "$WORK/err" "names the missing tensor"
expect_exit 2 "--tensor of rank 4" "$SPMMFARM" import one.safetensors -o x.json --tensor conv.weight
expect_grep "conv.weight: 4 dimensions; a layer's weight has 2" "$WORK/err" "names the wrong rank"
expect_exit 2 "--tensor of rank 1" "$SPMMFARM" import one.safetensors -o x.json --tensor enc.layer.0.norm.weight
expect_grep "1 dimension;" "$WORK/err" "rank 1 too"
$GEN ints.safetensors lin.weight:I64:8x8:0.9
expect_exit 2 "an integer weight" "$SPMMFARM" import ints.safetensors -o x.json
expect_grep "tensor 'lin.weight' cannot be a layer .*dtype I64" "$WORK/err" "names the unsupported dtype"
expect_exit 2 "nothing selected" "$SPMMFARM" import one.safetensors -o x.json --min-sparsity 0.99
expect_grep "no layer taken from one.safetensors: 7 of its 10 tensors matched, 2 of them not 2-D, 5 below --min-sparsity 0.99" \
    "$WORK/err" "says why nothing was taken"
$GEN badbias.safetensors fc.weight:F32:16x8:0.9 fc.bias:F32:15
expect_exit 2 "a bias of the wrong length" "$SPMMFARM" import badbias.safetensors -o x.json
expect_grep "tensor 'fc.bias' \(the bias of 'fc.weight', M = 16\) has 1 dimension of 15 elements" "$WORK/err" \
    "names the bias and its length"
[ -e x.json ] && fail "a refused import wrote x.json" || pass "a refused import writes nothing"
printf 'garbage' > broken.safetensors
expect_exit 2 "a file that is not safetensors" "$SPMMFARM" import broken.safetensors -o x.json
$GEN same.safetensors a.b/c.weight:F32:8x8:0.9 "a.b?c.weight:F32:8x8:0.9"
expect_exit 2 "two tensors with one bundle name" "$SPMMFARM" import same.safetensors -o x.json
expect_grep "would both be bundle layer 'a.b_c.weight'" "$WORK/err" "names the clash"

# ---- sharded: the index, a directory, its refusals
$GEN ck --shards 3 --seed 2 \
    model.layers.0.self_attn.q_proj.weight:F32:32x32:0.7 model.layers.0.mlp.up_proj.weight:BF16:64x32:0.9 \
    model.layers.0.mlp.down_proj.weight:BF16:32x64:0.9 model.layers.1.self_attn.q_proj.weight:F32:32x32:0.7 \
    model.norm.weight:F32:32 lm_head.weight:F32:50x32:0.0
expect_exit 0 "a sharded checkpoint through its index" "$SPMMFARM" import ck/model.safetensors.index.json -o ck.json --json
[ "$(json_get "$WORK/out" 'd["shards"] == 3 and d["tensors"] == 6 and d["layers"] == 4 and d["too_dense"] == 1')" = True ] \
    && pass "3 shards, 6 tensors, 4 layers" || fail "sharded summary: $(cat "$WORK/out")"
[ "$(json_get ck.json '[(l["name"], l["file"]) for l in d["layers"]] == [("model.layers.0.mlp.down_proj.weight", "ck/model-00002-of-00003.safetensors"), ("model.layers.0.mlp.up_proj.weight", "ck/model-00001-of-00003.safetensors"), ("model.layers.0.self_attn.q_proj.weight", "ck/model-00001-of-00003.safetensors"), ("model.layers.1.self_attn.q_proj.weight", "ck/model-00002-of-00003.safetensors")] and d["name"] == "ck"')" = True ] \
    && pass "each layer names its shard" || fail "sharded layers: $(cat ck.json)"
expect_exit 0 "a directory means its index" "$SPMMFARM" import ck --dir made --json
[ "$(json_get made/manifest.json 'len(d["layers"]) == 4 and d["layers"][0]["file"].startswith("/")')" = True ] \
    && pass "--dir DIR writes DIR/manifest.json, files outside it named absolutely" || fail "--dir: $(head -c 300 made/manifest.json)"
mkdir -p sub && cp -r ck sub/ck
expect_exit 0 "--dir with -o" "$SPMMFARM" import sub/ck --dir sub -o m.json -q
[ "$(json_get sub/m.json 'd["layers"][1]["file"]')" = "ck/model-00001-of-00003.safetensors" ] \
    && pass "files below the manifest's directory are relative" || fail "sub/m.json"
cp -r ck ck2 && rm ck2/model-00002-of-00003.safetensors
expect_exit 2 "an index naming a missing shard" "$SPMMFARM" import ck2 -o x.json
expect_grep "weight_map names shard 'model-00002-of-00003.safetensors' \(for '.*'\), which does not exist" "$WORK/err" \
    "names the missing shard"
cp -r ck ck3 && python3 -c '
import json, sys
p = sys.argv[1]; d = json.load(open(p)); d["weight_map"]["model.layers.9.mlp.up_proj.weight"] = "model-00001-of-00003.safetensors"
json.dump(d, open(p, "w"))' ck3/model.safetensors.index.json
expect_exit 2 "an index naming a tensor its shard lacks" "$SPMMFARM" import ck3 -o x.json
expect_grep "maps tensor 'model.layers.9.mlp.up_proj.weight' to shard 'model-00001-of-00003.safetensors', which does not hold it" \
    "$WORK/err" "names the tensor and the shard"
cp -r ck ck4 && python3 -c '
import json, sys
p = sys.argv[1]; d = json.load(open(p)); d["weight_map"]["model.norm.weight"] = "../one.safetensors"
json.dump(d, open(p, "w"))' ck4/model.safetensors.index.json
expect_exit 2 "a shard outside the index's directory" "$SPMMFARM" import ck4 -o x.json
expect_grep "climbs out of the index's directory" "$WORK/err" "refuses ../"
mkdir ck5 && echo '{"metadata": {}, "weight_map": []}' > ck5/model.safetensors.index.json
expect_exit 2 "a malformed index" "$SPMMFARM" import ck5 -o x.json
expect_grep "not a safetensors index" "$WORK/err" "says what an index is"
mkdir empty
expect_exit 2 "a directory with no checkpoint" "$SPMMFARM" import empty -o x.json
expect_grep "neither model.safetensors.index.json nor model.safetensors" "$WORK/err" "says what it looked for"

# ---- the manifest feeds `spmmfarm local` (sim backend: real compiles, simulated times)
expect_exit 0 "local --model takes the imported manifest" "$SPMMFARM" local --model pat.json --backend sim \
    --max-configs 2 --store "$WORK/st" --allow-simulated -o "$WORK/m.bundle" -q --json
[ "$(json_get "$WORK/out" '[l["name"] for l in d["layers"]] == ["enc.layer.0.query.weight"] and d["layers"][0]["m"] == 48 and d["layers"][0]["n"] == 512')" = True ] \
    && pass "local tuned the imported layer at N = 512" || fail "local: $(head -c 400 "$WORK/out")"
expect_exit 0 "bundle inspect" "$SPMMFARM" bundle inspect "$WORK/m.bundle" --json
[ "$(json_get "$WORK/out" '[(l["name"], l["bias"]) for l in d["layers"]]')" = "[('enc.layer.0.query.weight', True)]" ] \
    && pass "the bundle's layer keeps the tensor's name and its bias" || fail "bundle: $(head -c 400 "$WORK/out")"
expect_exit 2 "local: --precision against the manifest's" "$SPMMFARM" local --model low.json --precision fp16 \
    --backend sim -q
expect_grep "\-\-precision fp16, but the manifest's layers are bf16" "$WORK/err" "names both precisions"
python3 -c 'import json; d = json.load(open("low.json")); d["layers"][1]["precision"] = "fp16"; json.dump(d, open("mixed.json", "w"))'
expect_exit 2 "local: two precisions in one manifest" "$SPMMFARM" local --model mixed.json --backend sim -q
expect_grep "one campaign has one precision and one layout" "$WORK/err" "says one campaign has one precision"
python3 -c 'import json; d = json.load(open("pat.json")); d["layers"][0]["precision"] = "fp64"; json.dump(d, open("bad.json", "w"))'
expect_exit 2 "local: a manifest with an unknown precision" "$SPMMFARM" local --model bad.json --backend sim -q
expect_grep "layers\[0\]: precision: \"fp32\", \"tf32\", \"bf16\" or \"fp16\"" "$WORK/err" "names the field"

finish
