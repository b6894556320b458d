#!/bin/bash
# memo-check.sh: the worker's kept measuring child and timing memo on the GPU
# (issue 22; worker/sf_searchctx.h, worker/sf_timememo.h). Runs unattended on
# the lent H100 from the repository root with binaries packed by
# ../shared/tools/devpack (SF_DEVPACK, default .devpack: bin/spmmfarm, lib/),
# writing under $OUT: memo-check.json, memo-report.txt and memo-check.tgz (logs).
#
# One BERT-base encoder layer (q, k, v, o: 768 x 768; ffn1 3072 x 768; ffn2
# 768 x 3072; 90 %, N = 4096, fp32) through `spmmfarm local` (its defaults,
# one worker), fresh store each run, SPMMFARM_LOG=info:
#   1. cold   SPMMFARM_NO_TIMING_MEMO=1, empty compile cache (fills it; not compared)
#   2. off    SPMMFARM_NO_TIMING_MEMO=1, warm compile cache: every layer timed
#   3. on     the memo (the default), warm compile cache: k, v and o take the dense
#             timings (our dense kernels, SGEMM, TF32) from q's search
#   4. before (only with SF_MEMO_OLD=PATH, a spmmfarm built before the kept child
#             and the memo) warm compile cache: a child per search, every layer timed
# Compared, 2 against 3: wall and GPU seconds; per layer the winner, its time,
# SGEMM's time and the error (every layer must verify in both); how many
# measuring children each worker started (the kept child: 1 per worker with the
# memo run's code; the log line "measuring child N started"), and the memo's
# lines ("dense timings reused"): 3 layers (k, v, o) with 2 + our dense configs
# each. ~3-4 min. Settings: SF_MEMO_N (4096), SF_MEMO_SPARSITY (0.9),
# SF_MEMO_TIME (per run, 200 s), SF_MEMO_ARGS (more local options).
set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT/memo"
DEVPACK=${SF_DEVPACK:-$PWD/.devpack}
export LD_LIBRARY_PATH=$DEVPACK/lib:/usr/local/cuda/lib64
SPMMFARM=${SPMMFARM:-$DEVPACK/bin/spmmfarm}
N=${SF_MEMO_N:-4096}
SP=${SF_MEMO_SPARSITY:-0.9}
W=/tmp/memo-check
rm -rf "$W"
mkdir -p "$W/model"
export CUDA_CACHE_DISABLE=1
export SPMMFARM_COMPILE_CACHE=$W/kernels
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv
  nproc; uptime; "$SPMMFARM" --version; } > "$OUT/memo/machine.txt" 2>&1
entries="" seed=0
for spec in q:768:768 k:768:768 v:768:768 o:768:768 ffn1:3072:768 ffn2:768:3072; do
    name=${spec%%:*} rest=${spec#*:}
    m=${rest%%:*} k=${rest#*:}
    seed=$((seed + 1))
    "$SPMMFARM" gen --m "$m" --k "$k" --sparsity "$SP" --seed $seed -o "$W/model/$name.mtx" >/dev/null
    entries="$entries${entries:+, }{\"name\": \"$name\", \"file\": \"$name.mtx\"}"
done
echo "{ \"name\": \"bert-layer-s$SP\", \"n\": $N, \"layers\": [ $entries ] }" > "$W/model/model.json"

run () {  # run NAME MEMO(0|1) [PROGRAM]
    local name=$1 memo=$2 env_memo=1 prog=${3:-$SPMMFARM}
    [ "$memo" = 1 ] && env_memo=""
    echo "== $name (memo $memo, $prog)"
    SPMMFARM_NO_TIMING_MEMO=$env_memo SPMMFARM_LOG=info timeout ${SF_MEMO_TIME:-200} "$prog" local \
        --model "$W/model/model.json" --store "$W/store-$name" --workers 1 --json -q ${SF_MEMO_ARGS:-} \
        > "$OUT/memo/$name.json" 2> "$OUT/memo/$name.log"
    echo "exit $?"
    grep -cE "measuring child [0-9]+ started" "$OUT/memo/$name.log" | sed 's/^/children started: /'
    grep -cE "dense timings reused from the timing memo" "$OUT/memo/$name.log" | sed 's/^/layers with reused timings: /'
}
run cold 0
run off 0
run on 1
[ -n "${SF_MEMO_OLD:-}" ] && run before 0 "$SF_MEMO_OLD"

python3 - "$OUT/memo" <<'PY' | tee "$OUT/memo/memo-report.txt"
import json, os, re, sys
d = sys.argv[1]
res = {}
names = [n for n in ("cold", "off", "on", "before") if os.path.exists(os.path.join(d, n + ".json"))]
for name in names:
    try:
        j = json.load(open(os.path.join(d, name + ".json")))
    except Exception as e:
        j = {"error": str(e), "layers": []}
    log = open(os.path.join(d, name + ".log"), errors="replace").read()
    res[name] = {
        "wall_s": j.get("wall_s"), "gpu_s": j.get("gpu_s"), "compile_cpu_s": j.get("compile_cpu_s"),
        "error": j.get("error"),
        "children_started": len(re.findall(r"measuring child \d+ started", log)),
        "child_restarts_logged": len(re.findall(r"restarting the measuring child", log)),
        "layers_reusing": len(re.findall(r"dense timings reused from the timing memo", log)),
        "reused_lines": re.findall(r"timing memo: .*", log)[:40],
        "layers": [{k: l.get(k) for k in ("name", "template", "config", "us", "sgemm_us", "tf32_us",
                                           "cusparse_us", "max_rel_err")} for l in j.get("layers", [])],
    }
off = {l["name"]: l for l in res["off"]["layers"]}
cmp = []
for l in res["on"]["layers"]:
    o = off.get(l["name"])
    if not o:
        continue
    row = {"name": l["name"], "winner_off": o["config"], "winner_on": l["config"]}
    for k in ("us", "sgemm_us", "tf32_us", "cusparse_us"):
        if o.get(k) and l.get(k):
            row[k + "_on_over_off"] = l[k] / o[k]
    row["err_off"], row["err_on"] = o.get("max_rel_err"), l.get("max_rel_err")
    cmp.append(row)
out = {"runs": res, "on_vs_off": cmp}
json.dump(out, open(os.path.join(d, "memo-check.json"), "w"), indent=1)
for name in names:
    r = res[name]
    print("%-5s wall %s s, gpu %s s, compile %s CPU-s, children started %d, restarts %d, layers reusing %d, error %s" % (
        name, r["wall_s"], r["gpu_s"], r["compile_cpu_s"], r["children_started"], r["child_restarts_logged"],
        r["layers_reusing"], r["error"]))
for row in cmp:
    print(row)
PY
cp "$OUT/memo/memo-check.json" "$OUT/memo/memo-report.txt" "$OUT/" 2>/dev/null
tar czf "$OUT/memo-check.tgz" -C "$OUT" memo && rm -rf "$OUT/memo"
