#!/bin/sh
# spmmfarm bench in every precision tier with the sim backend: the summary's
# keys (precision, the tier's baselines, dense, slower_than_dense, the
# time-weighted model speedups), the table it prints, the charts (scripts
# and PNGs, drawn again on a rerun), a folder that holds
# another tier's run refused; the llm and large suites parse and their
# sources name every layer.
. "$(dirname "$0")/testlib.sh"

check () { [ "$(json_get "$1" "$2")" = True ] && pass "$3" || fail "$3"; }

BENCH205="$TOP_SRCDIR/conf/bench/bench205.conf"
LLM="$TOP_SRCDIR/conf/bench/llm.conf"
LARGE="$TOP_SRCDIR/conf/bench/large.conf"
FAST="--backend sim --templates D --max-configs 1 --compile-threads 2 -q"

# the new suites parse: sizes, unique ids and seeds, sources
expect_exit 0 "suite llm --json" "$SPMMFARM" suite "$LLM" --json
cp "$WORK/out" "$WORK/llm.json"
check "$WORK/llm.json" 'len(d["problems"]) == 80 and len({p["id"] for p in d["problems"]}) == 80 and len({p["seed"] for p in d["problems"]}) == 80' "llm: 80 problems, unique ids and seeds"
check "$WORK/llm.json" 'sorted({p["n"] for p in d["problems"]}) == [16, 64, 512, 2048] and sorted({p["sparsity"] for p in d["problems"]}) == [0.5, 0.7, 0.8, 0.9]' "llm: N = 16, 64, 512, 2048; sparsities 0.5-0.9"
check "$WORK/llm.json" 'sorted({(p["m"], p["k"]) for p in d["problems"]}) == [(4096, 4096), (4096, 11008), (4096, 16384), (11008, 4096), (16384, 4096)]' "llm: the LLaMA-2-7B and OPT-6.7B weight shapes"
check "$WORK/llm.json" 'all("LLaMA-2-7B" in p["source"] or "OPT-6.7B" in p["source"] for p in d["problems"])' "llm: every source names its network"
expect_exit 0 "suite large --json" "$SPMMFARM" suite "$LARGE" --json
cp "$WORK/out" "$WORK/large.json"
check "$WORK/large.json" 'len(d["problems"]) == 40 and len({p["seed"] for p in d["problems"]}) == 40' "large: 40 problems, unique seeds"
check "$WORK/large.json" 'sorted({p["n"] for p in d["problems"]}) == [1568, 4096, 6272] and sorted({p["sparsity"] for p in d["problems"]}) == [0.7, 0.8, 0.9, 0.95]' "large: N = 4096 (BERT-large), 6272 and 1568 (ResNet-50 batch 32)"

# bench in every tier (sim): one BERT-base problem
for p in fp32 tf32 bf16 fp16; do
    expect_exit 0 "bench --precision $p" "$SPMMFARM" bench --suite "$BENCH205" --filter 'shape=bert-qkvo,sparsity=0.9' \
        -o "$WORK/b-$p" --precision $p $FAST
    cp "$WORK/out" "$WORK/b-$p.txt"
    s="$WORK/b-$p/summary.json"
    check "$s" "d['precision'] == '$p' and d['problems'] == 1 and d['simulated'] and d['timing'] == 'simulated'" "$p: summary says its tier, simulated"
    check "$s" "'dense' in d['geomean_speedup'] and 'dense' in d['geomean_speedup_by_sparsity']['0.9'] and d['slower_than_dense'] == 0" "$p: dense speedup, none slower than dense"
    check "$s" "d['model_speedup']['BERT-base']['0.9'] > 0 and d['model_layers']['BERT-base'] == 48" "$p: BERT-base time-weighted speedup over its 48 layers of this shape"
    check "$WORK/b-$p/problems.jsonl" "d['precision'] == '$p' and d['dense']['own'].startswith('tc.') and d['source'].startswith('BERT-base')" "$p: the record has its tier, our dense kernel, its source"
    expect_grep "$p tier" "$WORK/b-$p.txt" "$p: the table is printed"
    expect_grep "BERT-base" "$WORK/b-$p.txt" "$p: the table has the model speedup"
done
check "$WORK/b-fp32/summary.json" "set(d['geomean_speedup']) == {'sgemm', 'tf32', 'cusparse', 'dense'} and d['dense_baseline'] == 'sgemm' and d['slower_than_sgemm'] == 0" "fp32: today's keys, dense = SGEMM"
check "$WORK/b-tf32/summary.json" "d['dense_baseline'] == 'tf32' and d['tol'] == 1e-3" "tf32: dense = cuBLAS TF32, its bound"
check "$WORK/b-bf16/summary.json" "set(d['geomean_speedup']) == {'bf16', 'cusparse', 'cusparselt_2to4', 'dense'} and d['dense_baseline'] == 'bf16' and d['dtype'] == 'bfloat16' and 'sgemm' not in d['geomean_speedup']" "bf16: cuBLAS bf16, cuSPARSE, 2:4 rows"
check "$WORK/b-fp16/summary.json" "d['dense_baseline'] == 'fp16' and d['tol'] == 2e-3" "fp16: dense = cuBLAS fp16"
check "$WORK/b-bf16/problems.jsonl" "d['best']['template'] == 'dense' and d['search']['candidates'] == 0" "bf16: no fp32 U/D kernels, dense alone"
expect_grep ",bf16," "$WORK/b-bf16/results.csv" "results.csv: the precision column"

# the charts: their scripts hold the data (each problem's id, the model,
# the spread per sparsity); with gnuplot, three PNGs, drawn again by a rerun
# on the finished folder; without it, bench says so and goes on
expect_exit 0 "bench: one shape at five sparsities" "$SPMMFARM" bench --suite "$BENCH205" --filter 'shape=bert-qkvo' \
    -o "$WORK/b-charts" $FAST
cp "$WORK/err" "$WORK/b-charts.err"
C="$WORK/b-charts"
for sp in 0.5 0.7 0.8 0.9 0.95; do
    expect_grep "^[0-9]+ [0-9.e+-]+ \"bert-qkvo@$sp\" [1-5]\$" "$C/chart.gp" "chart.gp: problem bert-qkvo@$sp, its speedup and sparsity"
done
expect_grep "xtic\(3\)" "$C/chart.gp" "chart.gp: the ids label the x axis"
expect_grep "SIMULATED" "$C/chart.gp" "chart.gp: the title says simulated"
expect_grep "^\"BERT-base \(48 layers\)\"( [0-9.e+-]+){5}\$" "$C/models.gp" "models.gp: BERT-base, one bar per sparsity"
expect_grep "^5 \"0.95 \(1\)\"( [0-9.e+-]+){5}\$" "$C/sparsity.gp" "sparsity.gp: min, quartiles, median, max of sparsity 0.95"
is_png () { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }
if command -v gnuplot >/dev/null 2>&1; then
    for f in chart models sparsity; do
        is_png "$C/$f.png" && pass "$f.png is a PNG" || fail "$f.png is a PNG"
    done
    rm -f "$C/chart.png" "$C/models.png" "$C/sparsity.png"
    expect_exit 0 "bench: a rerun on the finished folder" "$SPMMFARM" bench --suite "$BENCH205" --filter 'shape=bert-qkvo' \
        -o "$C" $FAST
    is_png "$C/chart.png" && is_png "$C/models.png" && is_png "$C/sparsity.png" \
        && pass "the rerun drew the three charts again" || fail "the rerun drew the three charts again"
else
    expect_grep "gnuplot is missing: no charts" "$WORK/b-charts.err" "no gnuplot: said, and the run goes on"
fi

# a folder holds one tier's run
expect_exit 2 "bench: another tier's folder is refused" "$SPMMFARM" bench --suite "$BENCH205" --filter 'shape=bert-qkvo,sparsity=0.9' \
    -o "$WORK/b-fp32" --precision bf16 $FAST
expect_grep "holds a fp32 run" "$WORK/err" "the refusal says why"
expect_exit 2 "bench: an unknown tier" "$SPMMFARM" bench --suite "$BENCH205" -o "$WORK/x" --precision fp8 $FAST

# model speedups: a network's shapes at several N (llm: decode and
# prefill) are reported per N; a source naming two networks counts for both
expect_exit 0 "bench llm attention layers" "$SPMMFARM" bench --suite "$LLM" --filter 'shape~attn-n,sparsity=0.9,n<=64' \
    -o "$WORK/b-llm" --precision bf16 $FAST
check "$WORK/b-llm/summary.json" "sorted(d['model_speedup']) == ['LLaMA-2-7B n=16', 'LLaMA-2-7B n=64', 'OPT-6.7B n=16', 'OPT-6.7B n=64'] and d['model_layers']['OPT-6.7B n=16'] == 128" "llm: per network and N, 128 attention layers each"
finish
