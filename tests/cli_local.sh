#!/bin/sh
# `spmmfarm local` as a user meets it (sim backend, real compiles): model
# manifests with convolution layers and checkpoints, and the output that
# explains itself.
. "$(dirname "$0")/testlib.sh"

# A manifest with a convolution (N from the input size) and a float64
# linear layer, both from a checkpoint.
cp "$TEST_DATA/ckpt.safetensors" "$WORK/"
cat > "$WORK/conv.json" <<'JSON'
{ "name": "ckpt", "layers": [
  {"name": "conv", "file": "ckpt.safetensors", "tensor": "conv.weight",
   "conv": {"input": [8, 10], "stride": 2, "padding": 1, "batch": 3}},
  {"name": "fc", "file": "ckpt.safetensors", "tensor": "fc.weight", "n": 16} ] }
JSON
expect_exit 0 "local: a conv layer and a float64 layer" "$SPMMFARM" local --model "$WORK/conv.json" \
    --store "$WORK/st" --json -q --max-configs 2
cp "$WORK/out" "$WORK/conv.out"
expect_grep '"n":[[:space:]]*90' "$WORK/conv.out" "conv: N = 3 x 5 x 6 = 90 (input 8 x 10, 2 x 2 kernel, stride 2, padding 1)"
expect_grep '"k":[[:space:]]*12' "$WORK/conv.out" "conv: K = I x kh x kw = 12"
expect_grep "float64 rounded to float32: 2 of 6 values changed" "$WORK/err" "the float64 layer's note"
# Bad conv fields: exit 2 with the layer named.
for bad in '"conv": {"input": 8}, "n": 4' '"conv": {"stride": 2}' '"conv": {"input": 1, "padding": 0}' \
           '"conv": {"input": [8, 8, 8]}' '"conv": {"input": 8, "kernel": [3, 3]}'; do
    printf '{"layers": [{"file": "ckpt.safetensors", "tensor": "conv.weight", %s}]}\n' "$bad" > "$WORK/bad.json"
    expect_exit 2 "conv manifest: $bad" "$SPMMFARM" local --model "$WORK/bad.json" --store "$WORK/st" -q
    expect_grep "bad.json: layers\\[0\\]" "$WORK/err" "... the message names the layer"
done

# The output explains itself: a real (generated) layer, an all-zero one.
"$SPMMFARM" gen --m 96 --k 64 --sparsity 0.9 --seed 3 -o "$WORK/w.mtx" >/dev/null
python3 -c '
import struct, sys
hdr = "{'"'"'descr'"'"': '"'"'<f4'"'"', '"'"'fortran_order'"'"': False, '"'"'shape'"'"': (32, 64), }"
hdr += " " * (63 - (10 + len(hdr)) % 64) + "\n"
open(sys.argv[1], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(hdr)) + hdr.encode() + bytes(32 * 64 * 4))
' "$WORK/zero.npy"
expect_exit 2 "local -o on the sim backend without --allow-simulated" "$SPMMFARM" local "$WORK/w.mtx" --n 64 \
    --store "$WORK/s2" -o "$WORK/x.bundle"
expect_grep "add --allow-simulated" "$WORK/err" "... says how to write it anyway"
[ -e "$WORK/x.bundle" ] && fail "... and writes nothing" || pass "... and writes nothing"
expect_exit 0 "local: a layer and an all-zero layer" "$SPMMFARM" local "$WORK/w.mtx" "$WORK/zero.npy" --n 64 \
    --store "$WORK/s2" --max-configs 2 -o "$WORK/x.bundle" --allow-simulated
cp "$WORK/out" "$WORK/l1.out"; cp "$WORK/err" "$WORK/l1.err"
expect_grep "^spmmfarm local: store $WORK/s2\$" "$WORK/l1.err" "the store is named at the start"
expect_grep "^spmmfarm local: coordinator for clients at tcp://127.0.0.1:[0-9]+ \\(spmmfarm status --watch --coordinator tcp://" \
    "$WORK/l1.err" "the client endpoint for status --watch is printed"
expect_grep "^tuning layers +\\[#+\\.*\\] 1/2  [0-9]+s, ETA [0-9]+s  2 layers of w" "$WORK/l1.err" "progress: elapsed, ETA, the item"
expect_grep "^campaign [0-9]+ 'w' done in [0-9.]+ s: 2 layers searched, [0-9]+ candidates measured" "$WORK/l1.out" "the summary line"
expect_grep "^layer +M x K +N +winner +time +SGEMM +TF32 +cuSPARSE +xSGEMM +xTF32 +rel err" "$WORK/l1.out" "the table's baselines and error"
expect_grep "^w +96 x 64 +64 +.* not run\$" "$WORK/l1.out" "sim: the error column says the kernel did not run"
expect_grep "^zero +32 x 64 +64 +U:r8\\.v2\\..* all-zero: no search" "$WORK/l1.out" "the all-zero layer is flagged, one kernel"
expect_grep "^times in us, SIMULATED" "$WORK/l1.out" "sim times labelled"
expect_grep "^geomean speedup: [0-9.]+x over SGEMM, [0-9.]+x over TF32, [0-9.]+x over cuSPARSE \\(2 layers\\) \\(SIMULATED\\)" \
    "$WORK/l1.out" "geomeans over every baseline, labelled"
expect_grep "^whole model \\(time-weighted" "$WORK/l1.out" "the time-weighted model speedup"
expect_grep "^  U:r8\\.v2\\.t32\\.g1\\.o0\\.m64\\.none +U \\(nonzeros compiled into the code\\): 8-row panels, 2 columns per thread" \
    "$WORK/l1.out" "the legend says what the winner's config is"
expect_grep "search: 32 x 64, 0 nonzeros: all-zero layer" "$WORK/l1.err" "the worker says it skipped the search"
expect_grep "^wrote .*x.bundle: 2 layers" "$WORK/l1.out" "--allow-simulated: the bundle is written"
expect_grep "^store: $WORK/s2 \\(campaign 1; spmmfarm export 1" "$WORK/l1.out" "the store and the campaign at the end"
expect_exit 0 "local again" "$SPMMFARM" local "$WORK/w.mtx" "$WORK/zero.npy" --n 64 --store "$WORK/s2" --max-configs 2
cp "$WORK/out" "$WORK/l2.out"
expect_grep "^campaign 2 'w' done in [0-9.]+ s: every layer answered from the store \\(nothing measured\\)" "$WORK/l2.out" \
    "a rerun says it was answered from the store"
if grep -q "0 candidates measured" "$WORK/l2.out"; then fail "... not '0 candidates measured'"; else pass "... not '0 candidates measured'"; fi
expect_grep "^w .* from the store\$" "$WORK/l2.out" "... per layer too"
expect_exit 0 "local --json" "$SPMMFARM" local "$WORK/w.mtx" "$WORK/zero.npy" --n 64 --store "$WORK/s2" --max-configs 2 --json
cp "$WORK/out" "$WORK/l3.json"
[ "$(json_get "$WORK/l3.json" '(d["answered_from_store"], d["store"] == "'"$WORK/s2"'", [l["from_store"] for l in d["layers"]])')" = "(2, True, [True, True])" ] \
    && pass "JSON: answered from the store, the store" || fail "JSON: answered from the store, the store"
[ "$(json_get "$WORK/l3.json" '[(l["max_rel_err"], "tf32_us" in l, "cusparse_us" in l, l["simulated"]) for l in d["layers"]]')" \
    = "[(None, True, True, True), (None, True, True, True)]" ] \
    && pass "JSON: baselines; no error for a kernel sim did not run" || fail "JSON: baselines; no error for a kernel sim did not run"
[ "$(json_get "$WORK/l3.json" '(d["layers"][1]["empty"], d["layers"][1]["explain"][:2])')" = "('zero', 'U ')" ] \
    && pass "JSON: the all-zero layer and the config in words" || fail "JSON: the all-zero layer and the config in words"

# tune-local on the all-zero layer: no search, said so.
expect_exit 0 "tune-local on an all-zero layer" "$SPMMFARM" tune-local "$WORK/zero.npy" --n 64 --no-store
expect_grep "^note: +all-zero layer" "$WORK/out" "tune-local flags it"
expect_grep "^search: +none \\(all-zero layer\\)" "$WORK/out" "... and did not search"
expect_grep "^kernel: +U \\(nonzeros compiled into the code\\)" "$WORK/out" "the winner in words"

# status: a failed job is not progress, and a campaign with one says so.
# `local` tunes the zero layer into a store; a coordinator on it (jobs timed
# out after 5 s, one try) answers that layer and fails the other layer's job
# (its search takes minutes: a timeout is a fault; a lease alone no longer
# runs out while its worker says it is busy, issue 24).
"$SPMMFARM" gen --m 512 --k 512 --sparsity 0.9 --seed 4 -o "$WORK/big.mtx" >/dev/null
expect_exit 0 "the zero layer tuned into the store first" "$SPMMFARM" local "$WORK/zero.npy" --n 64 --store "$WORK/s3" -q
P=$((20000 + $$ % 10000))
W="tcp://127.0.0.1:$P"; C="--coordinator tcp://127.0.0.1:$((P + 1))"
"$SPMMFARM" coordinator --store "$WORK/s3" --workers "$W" --clients "tcp://127.0.0.1:$((P + 1))" \
    --max-job-ms 5000 --retries 1 --log error 2>"$WORK/coord.err" &
coord=$!
"$SPMMFARM" worker --connect "$W" --backend sim --compile-threads 1 >/dev/null 2>&1 &
worker=$!
printf '{"name": "two", "n": 64, "layers": [{"file": "%s"}, {"file": "%s"}]}\n' "$WORK/zero.npy" "$WORK/big.mtx" > "$WORK/two.json"
expect_exit 0 "submit two layers" "$SPMMFARM" submit --model "$WORK/two.json" --json $C
id=$(json_get "$WORK/out" 'd["campaign"]')
expect_exit 1 "status --watch: exit 1 when a job failed" "$SPMMFARM" status "$id" --watch --interval 100 $C
expect_exit 0 "status" "$SPMMFARM" status "$id" $C
expect_grep "^campaign $id +two +done_with_failures +\\[#{15}!{15}\\] 1/2 jobs done, 1 failed" "$WORK/out" \
    "status: 1/2 done, the failed job marked '!', not counted"
expect_grep "^ +failed: job [0-9]+ \\(layer 1\\): timed out" "$WORK/out" "status names the failed job and why"
expect_exit 0 "status --json" "$SPMMFARM" status "$id" --json $C
[ "$(json_get "$WORK/out" '(d["campaigns"][0]["state"], d["campaigns"][0]["complete"], d["campaigns"][0]["jobs_failed"])')" \
    = "('done_with_failures', False, 1)" ] && pass "JSON: done_with_failures, not complete" \
    || fail "JSON: done_with_failures, not complete"
kill "$worker" "$coord" 2>/dev/null; wait "$worker" "$coord" 2>/dev/null
finish
