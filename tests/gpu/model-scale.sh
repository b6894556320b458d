#!/bin/bash
# model-scale.sh: search at model scale on the GPU (issue 22). Runs
# unattended on the lent H100 from the repository root, with binaries packed
# by ../shared/tools/devpack (SF_DEVPACK, default .devpack: bin/spmmfarm,
# lib/), writing under $OUT (at most 8 files come back): bert-base.json and
# bert-base-warm.json (docs/bench/h100/model-scale/), parts-report.txt,
# quality-report.txt, and model-scale.tgz with every log and JSON.
#
#   tests/gpu/model-scale.sh parts     the kernel in parts against the one-function
#                                      kernel: the same configs compiled both ways (and
#                                      in parts at ptxas -O1), every kernel verified and
#                                      timed in one tune-local run per path; compile
#                                      wall/CPU per kernel. ~4 min.
#   tests/gpu/model-scale.sh bert      BERT-base (12 x 6 = 72 linear layers, 90 %
#                                      uniform pruning, one seed per layer, N = 4096,
#                                      fp32) through `spmmfarm local` with its DEFAULT
#                                      settings (rank with the shipped H100 model, a
#                                      budget planned from the sizes), fresh store,
#                                      CUDA_CACHE_DISABLE=1, an empty compile cache:
#                                      bert-base.json. One call (limit 570 s; cut
#                                      short, the JSON says how many layers were done).
#   tests/gpu/model-scale.sh bert-more the cold campaign cut by a call's limit, carried on
#                                      in the next call on the same warm machine (its store
#                                      and compile cache under /tmp stay): the layers done
#                                      are answered from the store; bert-base.json's
#                                      wall_s_total adds the calls' walls (issue 22's 30
#                                      minutes do not fit one 10-minute call).
#   tests/gpu/model-scale.sh bert-warm the same campaign on a fresh store with the
#                                      compile cache the cold run filled (the next call
#                                      on the same warm machine): bert-base-warm.json.
#   tests/gpu/model-scale.sh llama     a LLaMA-2-7B-shaped stack in the bf16 tier
#                                      (7 matrices a layer; SF_SCALE_LAYERS=32 SF_SCALE_N=16
#                                      SF_SCALE_SPARSITY=0.7 for the issue's run):
#                                      llama7b-bf16.json, cut like bert.
#   tests/gpu/model-scale.sh quality   one encoder layer's six matrices: local with its
#                                      default budget against a proxy search of the whole
#                                      legal space (--budget 0) on SF_SCALE_QLAYERS
#                                      (default "q ffn1"); time-weighted speedups over
#                                      SGEMM side by side. ~8 min.
#
# Settings: SF_SCALE_LAYERS (encoder layers, default 12), SF_SCALE_N (4096),
# SF_SCALE_BUDGET (bert: --budget D instead of the default), SF_SCALE_TIME (570),
# SF_SCALE_SPARSITY (0.9), SF_SCALE_ARGS (more local options).
set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT/scale"
DEVPACK=${SF_DEVPACK:-$PWD/.devpack}
export LD_LIBRARY_PATH=$DEVPACK/lib:/usr/local/cuda/lib64
SPMMFARM=${SPMMFARM:-$DEVPACK/bin/spmmfarm}
LAYERS=${SF_SCALE_LAYERS:-12}
N=${SF_SCALE_N:-4096}
SP=${SF_SCALE_SPARSITY:-0.9}
W=/tmp/model-scale
mkdir -p "$W"
# cold compiles: the CUDA driver's JIT cache answered repeated compiles (docs/BENCHMARKS.md)
export CUDA_CACHE_DISABLE=1
rm -rf ~/.nv/ComputeCache
{ nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv
  nproc; uptime; "$SPMMFARM" --version; } > "$OUT/scale/machine.txt" 2>&1
cat "$OUT/scale/machine.txt"

# bert_model DIR LAYERS: BERT-base's linear layers (q, k, v, o: 768 x 768; ffn1:
# 3072 x 768; ffn2: 768 x 3072; M = outputs, K = inputs), a manifest at N
bert_model () {
    local dir=$1 layers=$2 seed=0
    mkdir -p "$dir"
    local entries=""
    for l in $(seq 0 $((layers - 1))); do
        for spec in q:768:768 k:768:768 v:768:768 o:768:768 ffn1:3072:768 ffn2:768:3072; do
            local name=${spec%%:*} rest=${spec#*:}
            local m=${rest%%:*} k=${rest#*:}
            seed=$((seed + 1))
            [ -f "$dir/l$l.$name.mtx" ] || "$SPMMFARM" gen --m "$m" --k "$k" --sparsity "$SP" --seed $seed \
                -o "$dir/l$l.$name.mtx" >/dev/null
            entries="$entries${entries:+, }{\"name\": \"l$l.$name\", \"file\": \"l$l.$name.mtx\"}"
        done
    done
    echo "{ \"name\": \"bert-base-s$SP-l$layers\", \"n\": $N, \"layers\": [ $entries ] }" > "$dir/model.json"
}

# llama_model DIR LAYERS: a LLaMA-2-7B-shaped decoder stack (q, k, v, o: 4096 x
# 4096; gate, up: 11008 x 4096; down: 4096 x 11008), uniformly pruned to
# $SP, one seed per matrix, as .smtx (patterns; values from the seed on read:
# 224 such matrices as .mtx would be tens of GB), a bf16 manifest at N
llama_model () {
    local dir=$1 layers=$2 seed=1000 todo entries=""
    mkdir -p "$dir"
    todo=$(mktemp)
    for l in $(seq 0 $((layers - 1))); do
        for spec in q:4096:4096 k:4096:4096 v:4096:4096 o:4096:4096 gate:11008:4096 up:11008:4096 down:4096:11008; do
            local name=${spec%%:*} rest=${spec#*:}
            local m=${rest%%:*} k=${rest#*:}
            seed=$((seed + 1))
            [ -f "$dir/l$l.$name.smtx" ] || echo "$m $k $seed $dir/l$l.$name.smtx" >> "$todo"
            entries="$entries${entries:+, }{\"name\": \"l$l.$name\", \"file\": \"l$l.$name.smtx\"}"
        done
    done
    # one gen per CPU at once (each writes its own file)
    xargs -P "$(nproc)" -n 4 sh -c '"$0" gen --m "$1" --k "$2" --sparsity "'"$SP"'" --seed "$3" -o "$4" >/dev/null 2>&1' \
        "$SPMMFARM" < "$todo"
    rm -f "$todo"
    echo "{ \"name\": \"llama7b-s$SP-l$layers\", \"n\": $N, \"precision\": \"bf16\", \"layout\": \"${SF_SCALE_LAYOUT:-nk}\", \"layers\": [ $entries ] }" > "$dir/model.json"
}

# summary LOCAL_JSON COMMAND OUT_JSON: the issue's output contract from local --json
summary () {
    python3 - "$@" <<'PY'
import json, sys
src, command, dst = sys.argv[1:4]
try:
    d = json.load(open(src))
except Exception as e:
    d = {"error": "no JSON from local: %s" % e, "layers": []}
layers = d.get("layers", [])
tol = float(__import__("os").environ.get("SF_SUMMARY_TOL", "1e-5"))
verified = [l for l in layers if l.get("max_rel_err") is not None and l["max_rel_err"] <= tol]
timed = [l for l in layers if l.get("sgemm_us") and l.get("us")]
tw = sum(l["sgemm_us"] for l in timed) / sum(l["us"] for l in timed) if timed else None
out = {
    "layers": len(layers), "verified": len(verified),
    "wall_s": d.get("wall_s"), "compile_cpu_s": d.get("compile_cpu_s"), "gpu_s": d.get("gpu_s"),
    "gpu_busy": d.get("gpu_busy"), "candidates": d.get("candidates"),
    "time_weighted_speedup_sgemm": tw,
    "geomean_speedup_sgemm": (lambda xs: __import__("math").exp(sum(map(__import__("math").log, xs)) / len(xs)) if xs else None)(
        [l["speedup_sgemm"] for l in layers if l.get("speedup_sgemm")]),
    "budget_s": d.get("budget_s"), "layers_narrowed": d.get("layers_narrowed"),
    "layers_without_u": d.get("layers_without_u"), "configs_skipped": d.get("configs_skipped"),
    "templates": {t: sum(1 for l in layers if l.get("template") == t) for t in ("U", "D", "dense")},
    "gpu_type": d.get("gpu_type"), "strategy": d.get("strategy"),
    "settings": command, "simulated": any(l.get("simulated") for l in layers),
    "error": d.get("error"), "layers_done": d.get("layers_done", len(layers)),
    "per_layer": [{k: l.get(k) for k in ("name", "m", "k", "n", "template", "config", "us", "sgemm_us", "max_rel_err")}
                  for l in layers],
}
wt = __import__("os").environ.get("SF_SUMMARY_WALL_TOTAL")
if wt:  # the whole campaign's wall, over every call it took (model-scale.sh bert-more)
    out["wall_s_total"] = float(wt)
json.dump(out, open(dst, "w"), indent=1)
print(json.dumps({k: v for k, v in out.items() if k != "per_layer"}))
PY
}

# worker_log LOG: the workers' compile cache lines
worker_log () { grep -E "compile cache|budget|skipped" "$1" | tail -5; }

for what in "$@"; do
    case $what in
    parts)
        # the same full kernels three ways: in parts (the default), one function
        # (SPMMFARM_U_EMIT=ptx, before issue 22), in parts at ptxas -O1;
        # exhaustive U, every kernel verified; 768 x 768 at 95 % and 90 % (BERT's
        # 59,000 nonzeros) at N = 4096, and a 256 x 1152 layer at N = 784
        for spec in ${SF_PARTS_SPECS:-768:768:0.95:4096 768:768:0.9:4096 256:1152:0.9:784}; do
            IFS=: read -r m k s n <<< "$spec"
            f=$W/parts-$m-$k-$s.mtx
            "$SPMMFARM" gen --m $m --k $k --sparsity $s --seed 7 -o "$f" >/dev/null
            for path in parts ptx parts-o1; do
                env_path=$path; [ $path = parts ] && env_path=""
                echo "== $m x $k @ $s, N = $n, $path"
                SPMMFARM_U_EMIT=$env_path timeout ${SF_PARTS_TIME:-150} "$SPMMFARM" tune-local "$f" --n $n \
                    --strategy exhaustive --templates U --max-configs ${SF_PARTS_CONFIGS:-3} --no-store --json \
                    > "$OUT/scale/parts-$m-$k-$s-$path.json" 2>> "$OUT/scale/parts-stderr.log"
                echo "exit $?"
            done
        done
        python3 - "$OUT/scale" <<'PY' | tee "$OUT/scale/parts-report.txt"
import glob, json, os, sys
d = sys.argv[1]
rows, totals = {}, {}
for f in sorted(glob.glob(os.path.join(d, "parts-*.json"))):
    name = os.path.basename(f)[len("parts-"):-len(".json")]
    path = next(p for p in ("parts-o1", "parts", "ptx") if name.endswith("-" + p))
    layer = name[:-len(path) - 1]
    try:
        j = json.load(open(f))
    except Exception as e:
        print(layer, path, "no result:", e); continue
    totals[(layer, path)] = j["search"]
    for c in j["candidates"]:
        if c["config"].startswith("U") and not c.get("proxy"):
            rows.setdefault((layer, c["config"]), {})[path] = c
print("per kernel: time us, verification error, compile wall s, registers, spill bytes")
for (layer, cfg), byp in sorted(rows.items()):
    cells = []
    for p in ("parts", "ptx", "parts-o1"):
        c = byp.get(p)
        cells.append("%-9s -" % p if not c else "%-9s %s" % (p, c["status"]) if c["status"] != "ok" else
                     "%-9s %8.2f us %8.1e %6.1f s %3d r %5d B" % (p, c["us"], c.get("err") or 0, c.get("compile_s", 0),
                                                                 c.get("registers", 0), c.get("spill_bytes", 0)))
    ok = all(byp.get(p, {}).get("status") == "ok" for p in ("parts", "ptx"))
    print("%s %s\n   %s%s" % (layer, cfg, "\n   ".join(cells),
          "\n   parts / one function: %.3f" % (byp["parts"]["us"] / byp["ptx"]["us"]) if ok else ""))
print("per run: compile CPU-s, compile wall s, kernels verified of timed")
for (layer, path), s in sorted(totals.items()):
    print("  %-20s %-9s %8.1f CPU-s %7.1f s wall  %d timed, %d failed" % (layer, path, s["compile_cpu_s"],
          s["compile_wall_s"], s["timed"], s["failed"]))
PY
        ;;
    bert|bert-more|bert-warm)
        # The issue's run: local with DEFAULT settings (no --budget, no
        # --strategy: rank with the shipped H100 model, a budget planned from
        # the sizes), fresh store, CUDA_CACHE_DISABLE=1. bert: the cold run
        # (empty compile cache under $W/kcache, which stays for the next
        # call while the machine is warm); bert-warm: a fresh store with that
        # cache (or, on a fresh machine, a cold run first: SF_SCALE_WARM_COLD=1
        # is then needed and the call is about twice as long). SF_SCALE_BUDGET
        # (e.g. 8m) passes --budget instead of the default.
        bert_model "$W/bert" "$LAYERS"
        B=${SF_SCALE_BUDGET:-default}
        budget_arg="--budget $B"; [ "$B" = default ] && budget_arg=""
        export SPMMFARM_COMPILE_CACHE=$W/kcache SPMMFARM_RANKMODELS=${SPMMFARM_RANKMODELS:-$PWD/conf/rankmodels}
        runs=cold; [ $what = bert-warm ] && runs=warm
        [ $what = bert-warm ] && [ ! -d "$W/kcache" ] && echo "bert-warm: no compile cache at $W/kcache (a fresh machine):" \
            "the cold run first" && runs="cold warm"
        for run in $runs; do
            if [ $what = bert-more ]; then
                [ -d "$W/store-cold" ] || { echo "bert-more: no cold store at $W/store-cold (a fresh machine): run bert first"; break; }
            else
                [ $run = cold ] && rm -rf "$W/kcache"
                rm -rf "$W/store-$run" "$W/bert-$run.bundle"
            fi
            cmd="spmmfarm local --model bert-base.json -o bert-base.bundle $budget_arg ${SF_SCALE_ARGS:-} (defaults; fresh store, CUDA_CACHE_DISABLE=1, $run compile cache)"
            [ $what = bert-more ] && cmd="${cmd%(*}(defaults; the cut cold run's store and compile cache, carried on; CUDA_CACHE_DISABLE=1)"
            echo "== $cmd"
            t0=$(date +%s)
            timeout -s INT -k 20 ${SF_SCALE_TIME:-570} "$SPMMFARM" local --model "$W/bert/model.json" \
                --store "$W/store-$run" $budget_arg ${SF_SCALE_ARGS:-} --json -o "$W/bert-$run.bundle" \
                > "$OUT/scale/local-$run.json" 2> "$OUT/scale/local-$run.log"
            rc=$?
            el=$(( $(date +%s) - t0 ))
            echo "exit $rc in $el s"
            # the campaign's wall over the calls it took (bert-more adds to bert's)
            prev=0; [ $what = bert-more ] && prev=$(cat "$W/wall-$run" 2>/dev/null || echo 0)
            echo $(( prev + el )) > "$W/wall-$run"
            export SF_SUMMARY_WALL_TOTAL=$(( prev + el ))
            grep -E "spmmfarm local: (a budget|strategy)" "$OUT/scale/local-$run.log"
            worker_log "$OUT/scale/local-$run.log"
            name=bert-base; [ $run = warm ] && name=bert-base-warm
            if [ $rc = 124 ] || [ $rc = 130 ] || [ $rc = 137 ]; then  # cut by the limit (SIGINT: local stops its workers): what the store has
                "$SPMMFARM" store dump "$W/store-$run" --db best --json > "$OUT/scale/best-$run.jsonl" 2>/dev/null
                echo "{\"error\": \"cut at ${SF_SCALE_TIME:-570} s\", \"layers_done\": $(wc -l < "$OUT/scale/best-$run.jsonl"), \"layers\": []}" \
                    > "$OUT/scale/local-$run.json"
            fi
            summary "$OUT/scale/local-$run.json" "$cmd" "$OUT/$name.json"
            "$SPMMFARM" store dump "$W/store-$run" --db campaigns --json > "$OUT/scale/campaign-$run.json" 2>/dev/null
        done
        du -sh "$W/kcache" 2>/dev/null
        ;;
    llama)
        # The LLaMA-2-7B-shaped stack in the bf16 tier (issue 22): SF_SCALE_LAYERS
        # decoder layers (default 32: 224 matrices; fewer to fit one call, the
        # JSON says how many), SF_SCALE_SPARSITY (set 0.7 for the issue's run),
        # N = SF_SCALE_N (set 16), local's defaults, fresh store, cold caches
        t0=$(date +%s)
        llama_model "$W/llama" "$LAYERS"
        echo "generated $(ls "$W/llama" | grep -c smtx) matrices in $(( $(date +%s) - t0 )) s ($(du -sh "$W/llama" | cut -f1))"
        export SPMMFARM_COMPILE_CACHE=$W/kcache-llama SPMMFARM_RANKMODELS=${SPMMFARM_RANKMODELS:-$PWD/conf/rankmodels}
        rm -rf "$W/kcache-llama" "$W/store-llama" "$W/llama.bundle"
        cmd="spmmfarm local --model llama7b.json -o llama7b.bundle ${SF_SCALE_ARGS:-} (defaults; bf16 tier from the manifest, N = $N, $SP sparsity, $LAYERS decoder layers; fresh store, CUDA_CACHE_DISABLE=1, cold compile cache)"
        echo "== $cmd"
        t0=$(date +%s)
        timeout -s INT -k 20 ${SF_SCALE_TIME:-570} "$SPMMFARM" local --model "$W/llama/model.json" \
            --store "$W/store-llama" ${SF_SCALE_ARGS:-} --json -o "$W/llama.bundle" \
            > "$OUT/scale/local-llama.json" 2> "$OUT/scale/local-llama.log"
        rc=$?
        echo "exit $rc in $(( $(date +%s) - t0 )) s"
        worker_log "$OUT/scale/local-llama.log"
        if [ $rc = 124 ] || [ $rc = 130 ] || [ $rc = 137 ]; then
            "$SPMMFARM" store dump "$W/store-llama" --db best --json > "$OUT/scale/best-llama.jsonl" 2>/dev/null
            echo "{\"error\": \"cut at ${SF_SCALE_TIME:-570} s\", \"layers_done\": $(wc -l < "$OUT/scale/best-llama.jsonl"), \"layers\": []}" \
                > "$OUT/scale/local-llama.json"
        fi
        SF_SUMMARY_TOL=1e-2 summary "$OUT/scale/local-llama.json" "$cmd" "$OUT/llama7b-bf16.json"
        ;;
    quality)
        bert_model "$W/bert1" 1
        ql=${SF_SCALE_QLAYERS:-q ffn1}
        python3 - "$W/bert1/model.json" "$W/bert1/q.json" $ql <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); keep = set("l0." + x for x in sys.argv[3:])
m["layers"] = [l for l in m["layers"] if l["name"] in keep]; m["name"] += "-q"
json.dump(m, open(sys.argv[2], "w"))
PY
        export SPMMFARM_COMPILE_CACHE=off
        for run in default whole; do
            model=$W/bert1/model.json; args=""
            [ $run = whole ] && model=$W/bert1/q.json && args="--budget 0 --strategy proxy"
            rm -rf "$W/store-q-$run"
            echo "== local $args on $(basename $model)"
            timeout ${SF_QUALITY_TIME:-280} "$SPMMFARM" local --model "$model" --store "$W/store-q-$run" $args --json \
                > "$OUT/scale/quality-$run.json" 2> "$OUT/scale/quality-$run.log"
            echo "exit $?"
            summary "$OUT/scale/quality-$run.json" "spmmfarm local $args" "$OUT/scale/quality-$run-summary.json"
        done
        python3 - "$OUT/scale/quality-default.json" "$OUT/scale/quality-whole.json" <<'PY' | tee "$OUT/scale/quality-report.txt"
import json, sys
try:
    a = {l["name"]: l for l in json.load(open(sys.argv[1]))["layers"]}
    b = {l["name"]: l for l in json.load(open(sys.argv[2]))["layers"]}
except Exception as e:
    print("no result:", e); sys.exit(0)
common = sorted(set(a) & set(b))
for n in common:
    print("%-10s default %-32s %8.2f us   whole space %-32s %8.2f us   default/whole %.3f" %
          (n, a[n]["config"], a[n]["us"], b[n]["config"], b[n]["us"], a[n]["us"] / b[n]["us"]))
if common:
    tw = lambda d: sum(d[n]["sgemm_us"] for n in common) / sum(d[n]["us"] for n in common)
    print("time-weighted speedup over SGEMM on %d layers: default %.3fx, whole space %.3fx (%.1f %% apart)" %
          (len(common), tw(a), tw(b), 100 * (1 - tw(a) / tw(b))))
PY
        ;;
    *)
        echo "model-scale.sh: unknown part '$what' (parts, bert, bert-warm, llama, quality)"; exit 2 ;;
    esac
done
# at most 8 files come back: the reports and summaries, and a tarball of the rest
cp "$OUT/scale/parts-report.txt" "$OUT/scale/quality-report.txt" "$OUT/" 2>/dev/null
tar czf "$OUT/model-scale.tgz" -C "$OUT" scale && rm -rf "$OUT/scale"
ls -la "$OUT"
