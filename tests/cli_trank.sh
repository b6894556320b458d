#!/bin/sh
# Template T's rank model end to end on the sim backend (issue 20;
# docs/RANKMODEL.md "Sweeps of T"): sweep-local on a tiny T sweep in bf16
# -> train --family T -> the model in the store under its own key.
# Compiles are real (NVRTC on the CPU), times SIMULATED.
. "$(dirname "$0")/testlib.sh"

STORE="$WORK/store"
SIM=sim/h100-model/132sm
check () { [ "$(json_get "$1" "$2")" = True ] && pass "$3" || fail "$3"; }
cat > "$WORK/t-tiny.conf" <<'CONF'
sweep
    name = t-tiny
    description = "cli_trank: 3 small problems, 4 T configs each"
    seed = 7
    problems = 3
    configs = 4
    templates = T
    precision = bf16
    m = 256..512
    k = 256..512
    n = "16 512"
    align = 64
    sparsity = 0.5..0.9
CONF

# ---- sweep-local: each problem a bf16 T search, resumable
expect_exit 0 "sweep-local runs the tiny T sweep (sim)" \
    "$SPMMFARM" sweep-local --sweep "$WORK/t-tiny.conf" --backend sim --store "$STORE" --compile-threads 2 --json -q
cp "$WORK/out" "$WORK/sweep.json"
check "$WORK/sweep.json" 'd["measured"] == 3 and d["complete"] and d["candidates"] >= 12' "every problem measured"
check "$WORK/sweep.json" 'd["simulated"] and d["gpu_type"] == "'$SIM'"' "labelled simulated, under the sim GPU type"
expect_exit 0 "sweep-local again" "$SPMMFARM" sweep-local --sweep "$WORK/t-tiny.conf" --backend sim --store "$STORE" --json -q
check "$WORK/out" 'd["measured"] == 0 and d["already_stored"] == 3' "a second run measures nothing again"
expect_exit 0 "store dump of the results" "$SPMMFARM" store dump "$STORE" --db results
expect_grep 'bf16' "$WORK/out" "the results are bf16 ones"
expect_grep 'T:e' "$WORK/out" "of template T configs"
expect_exit 0 "sweep-local --estimate of the T sweep" "$SPMMFARM" sweep-local --sweep "$WORK/t-tiny.conf" \
    --backend sim --estimate --compile-threads 16 --json
check "$WORK/out" 'd["candidates"] == 12 and d["wall_s"] > 0' "an estimate of the T sweep"

# ---- train --family T: a T model under its own key; no U/D data
expect_exit 0 "train --family T" "$SPMMFARM" train --store "$STORE" --gpu-type $SIM --family T \
    -o "$WORK/tmodel.json" --json
cp "$WORK/out" "$WORK/train.json"
check "$WORK/train.json" 'd["version"] == 1 and d["problems"] == 3 and d["candidates"] == 12' "T model 1: 3 problems, 12 candidates"
check "$WORK/train.json" 'd["gpu_type"] == "'$SIM'+T"' "kept under the GPU type's T key"
expect_grep '"spmmfarm_family":"T"' "$WORK/tmodel.json" "the model file says its family"
check "$WORK/train.json" 'd["family"] == "T"' "train --json says the model's family"

# ---- the T model on the farm: tune-local (a client of the embedded farm on
# the store) in bf16 with rank: the coordinator sends the T model in the JOB
"$SPMMFARM" gen --m 256 --k 192 --sparsity 0.8 --seed 9 -o "$WORK/t.mtx" >/dev/null
expect_exit 0 "tune-local bf16 rank with the store's T model" "$SPMMFARM" tune-local "$WORK/t.mtx" --n 16 \
    --backend sim --store "$STORE" --precision bf16 --templates T --strategy rank --top-k 3 --compile-threads 2 --json -q
cp "$WORK/out" "$WORK/trank.json"
check "$WORK/trank.json" 'd["search"]["ranked"] > 3 and len([c for c in d["candidates"] if c["config"].startswith("T:")]) == 3' \
    "every legal T config scored, the model's top 3 timed"
# without a T model (a store of its own): the prior's picks (--max-configs 2)
expect_exit 0 "tune-local bf16 rank, no T model" "$SPMMFARM" tune-local "$WORK/t.mtx" --n 16 \
    --backend sim --store "$WORK/bare" --precision bf16 --templates T --strategy rank --max-configs 2 \
    --compile-threads 2 --json
check "$WORK/out" 'd["search"]["ranked"] == 0 and len([c for c in d["candidates"] if c["config"].startswith("T:")]) == 2' \
    "T times the prior's picks"
expect_grep 'template T ranks without a model' "$WORK/err" "and the coordinator says why"
# the T model as a file (--model): it travels in the SUBMIT and ranks, in a
# store that has none of its own; outside bf16/fp16 it is a usage error
expect_exit 0 "tune-local bf16 rank --model T-model file" "$SPMMFARM" tune-local "$WORK/t.mtx" --n 16 \
    --backend sim --store "$WORK/bare2" --precision bf16 --templates T --strategy rank --top-k 3 \
    --model "$WORK/tmodel.json" --compile-threads 2 --json -q
check "$WORK/out" 'd["search"]["ranked"] > 3 and len([c for c in d["candidates"] if c["config"].startswith("T:")]) == 3' \
    "the file's T model scored every legal T config, its top 3 timed"
check "$WORK/out" '[c["config"] for c in d["candidates"] if c["config"].startswith("T:")] == [c["config"] for c in __import__("json").load(open("'"$WORK/trank.json"'"))["candidates"] if c["config"].startswith("T:")]' \
    "the same picks as the store's copy of that model"
expect_exit 2 "tune-local fp32 --model T-model file" "$SPMMFARM" tune-local "$WORK/t.mtx" --n 16 \
    --backend sim --no-store --strategy rank --model "$WORK/tmodel.json" -q
expect_grep 'template T model: T ranks bf16 and fp16 searches only' "$WORK/err" "says T models rank 16-bit searches"
expect_exit 2 "train (U/D): no U/D data in a T-only store" "$SPMMFARM" train --store "$STORE" --gpu-type $SIM
expect_grep 'no training data' "$WORK/err" "says there is no U/D training data"
expect_exit 2 "train --family X" "$SPMMFARM" train --store "$STORE" --gpu-type $SIM --family X
expect_grep 'must be UD or T' "$WORK/err" "names the families"
expect_exit 0 "train --family T (text)" "$SPMMFARM" train --store "$STORE" --gpu-type $SIM --family T
expect_grep 'family T: the farm' "$WORK/out" "says how the T model travels and is found"
finish
