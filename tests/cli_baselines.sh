#!/bin/sh
# The tier's baselines in every result table (issue 25 with issue 19's
# tiers): a bf16 search measures cuBLASLt in bf16 (sim backend: its model),
# the store's best keeps it ("baseline:blas16"), and `local`, `tune-local`
# (searched and answered from the store) and `store dump` show it, labelled
# SIMULATED; fp32 keeps SGEMM, TF32 and cuSPARSE; an older store's best,
# which has no such field, still reads.
. "$(dirname "$0")/testlib.sh"

"$SPMMFARM" gen --m 96 --k 64 --sparsity 0.9 --seed 3 -o "$WORK/w.mtx" >/dev/null
"$SPMMFARM" gen --m 64 --k 96 --sparsity 0.8 --seed 4 -o "$WORK/v.mtx" >/dev/null

# ---- local: the table's columns are the tier's ------------------------------------
expect_exit 0 "local --precision bf16" "$SPMMFARM" local "$WORK/w.mtx" "$WORK/v.mtx" --n 64 --precision bf16 \
    --store "$WORK/s" --max-configs 2 -q
cp "$WORK/out" "$WORK/bf16.out"
expect_grep "^layer +M x K +N +winner +time +cuBLASLt bf16 +cuSPARSE +xcuBLASLt +rel err\$" "$WORK/bf16.out" \
    "bf16: the table names the tier's dense library"
expect_grep "^w +96 x 64 +64 +[^ ]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+x +not run\$" "$WORK/bf16.out" \
    "bf16: a row has the library's time and the speedup over it"
if grep -q "SGEMM" "$WORK/bf16.out"; then fail "bf16: no SGEMM column (not a bf16 baseline)"; else
    pass "bf16: no SGEMM column (not a bf16 baseline)"; fi
expect_grep "^geomean speedup: [0-9.]+x over cuBLASLt bf16, [0-9.]+x over cuSPARSE \\(2 layers\\) \\(SIMULATED\\)" \
    "$WORK/bf16.out" "bf16: geomeans over the tier's baselines, labelled SIMULATED"
expect_grep "^whole model \\(time-weighted, each layer once\\): [0-9.]+ us tuned, [0-9.]+x over cuBLASLt bf16 \\([0-9.]+ us\\) \\(SIM" \
    "$WORK/bf16.out" "bf16: the whole model against cuBLASLt bf16"
expect_exit 0 "local --precision bf16 --json (answered from the store)" "$SPMMFARM" local "$WORK/w.mtx" "$WORK/v.mtx" \
    --n 64 --precision bf16 --store "$WORK/s" --max-configs 2 -q --json
got=$(json_get "$WORK/out" '[(l["from_store"], l["precision"], l["blas16_us"] > 0,
    abs(l["speedup_blas16"] - l["blas16_us"] / l["us"]) < 1e-9, "sgemm_us" in l, "blas16_err" in l, l["simulated"])
    for l in d["layers"]]')
[ "$got" = "[(True, 'bf16', True, True, False, False, True), (True, 'bf16', True, True, False, False, True)]" ] \
    && pass "JSON: blas16_us and speedup_blas16 from the store (sim: no library error)" || fail "JSON: $got"
expect_exit 0 "local (fp32)" "$SPMMFARM" local "$WORK/w.mtx" --n 64 --store "$WORK/s" --max-configs 2 -q
expect_grep "^layer +M x K +N +winner +time +SGEMM +TF32 +cuSPARSE +xSGEMM +xTF32 +rel err\$" "$WORK/out" \
    "fp32: SGEMM, TF32 and cuSPARSE as before"
if grep -q "cuBLASLt" "$WORK/out"; then fail "fp32: no cuBLASLt column"; else pass "fp32: no cuBLASLt column"; fi

# ---- store dump: the best record keeps it -------------------------------------------
expect_exit 0 "store dump --db best" "$SPMMFARM" store dump "$WORK/s" --db best --json
got=$(python3 -c 'import json, sys
print(sorted({(b["key"]["campaign"], b["value"]["blas16_us"] is not None) for b in map(json.loads, open(sys.argv[1]))}))' \
      "$WORK/out")
[ "$got" = "[(1, True), (2, True), (3, False)]" ] \
    && pass "store dump: bf16 bests carry blas16_us, fp32 ones null" || fail "store dump: $got"
expect_exit 0 "store dump --db results" "$SPMMFARM" store dump "$WORK/s" --db results
expect_grep "\\| dense \\| baseline:blas16 \\| full \\| bf16 kn( \\| cold L2)?: status=0 .*simulated=true us=[0-9]" "$WORK/out" \
    "the measurement is a result of its own (baseline:blas16, bf16 key, simulated)"

# ---- tune-local: searched, then answered from the store -----------------------------
for run in searched "from the store"; do
    expect_exit 0 "tune-local --precision bf16 ($run)" "$SPMMFARM" tune-local "$WORK/w.mtx" --n 64 --precision bf16 \
        --store "$WORK/t" --max-configs 2
    expect_grep "^baselines: +cuSPARSE [0-9.]+ us, cuBLASLt bf16 [0-9.]+ us.* \\(SIMULATED\\)\$" "$WORK/out" \
        "tune-local ($run): cuBLASLt bf16 among the baselines, SIMULATED"
    expect_grep "^speedup: +.*[0-9.]+x over cuBLASLt bf16" "$WORK/out" "tune-local ($run): the speedup over it"
done
expect_grep "^search: +none: answered from the store" "$WORK/out" "... the second was answered from the store"
expect_exit 0 "tune-local --precision bf16 --json (from the store)" "$SPMMFARM" tune-local "$WORK/w.mtx" --n 64 \
    --precision bf16 --store "$WORK/t" --max-configs 2 --json
got=$(json_get "$WORK/out" '(d["from_store"], d["baselines"]["blas16_us"] > 0, d["baselines"]["blas16_err"], d["baselines"]["sgemm_us"])')
[ "$got" = "(True, True, None, None)" ] && pass "tune-local JSON: baselines.blas16_us from the store" \
    || fail "tune-local JSON: $got"

# ---- a store written before the field: still read ---------------------------------
OLD="$WORK/old-store"
mkdir -p "$OLD" && cp "$TEST_DATA/store-pre-request/data.mdb" "$OLD/" && chmod u+w "$OLD/data.mdb"
expect_exit 0 "store verify of a store written before blas16_us" "$SPMMFARM" store verify "$OLD"
expect_grep ", 0 bad" "$WORK/out" "... every record decodes"
expect_exit 0 "store dump --db best of the older store" "$SPMMFARM" store dump "$OLD" --db best
expect_grep "^best 1/0: .*cusparse_us=[0-9.e+-]+ blas16_us=nan blas16_err=nan" "$WORK/out" \
    "... its best reads, with no cuBLASLt baseline (nan)"

finish
