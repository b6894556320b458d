#!/bin/bash
# device-run.sh: what one call on the lent GPU machine runs, from the
# repository root, with binaries packed by ../shared/tools/devpack into
# .devpack/ (see docs/KERNELS.md). Writes logs and JSON under $OUT.
#   tests/gpu/device-run.sh check   make check-gpu equivalent
#   tests/gpu/device-run.sh bench   tune-local on reference layers
#   tests/gpu/device-run.sh export  tests/cli_export.sh: tune-local's store,
#                                   export, verify, rt_demo, torch_demo
#   farm, scaling, dispatch, sweep, rankeval, smoke, emitpath, suite,
#   proxyeval, fidelity, dprofile, dunion, dshfl, dslab, usplit: see each section below (issues 3-7)
#   tests/gpu/device-run.sh emitpath  U kernels as PTX and as CUDA C, timed
#   tests/gpu/device-run.sh scale     issue 22: tests/gpu/model-scale.sh $SF_SCALE_PARTS
#                                     (default "parts"; also bert, quality)
set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT/json"
export LD_LIBRARY_PATH=$PWD/.devpack/lib:/usr/local/cuda/lib64
export SPMMFARM=$PWD/.devpack/bin/spmmfarm
export SF_SHARED_DATA=$PWD/.devpack/data
export SF_TOP_SRCDIR=$PWD SF_TOP_BUILDDIR=$PWD
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,utilization.gpu --format=csv | tee "$OUT/nvidia-smi.txt"
git log -1 --format='commit %H %s' 2>/dev/null | tee "$OUT/commit.txt"  # empty: the device copy has no .git
# kinds_report JSON TEMPLATE LABEL1 MARK LABEL2: a tune-local run's baselines,
# then the best configs of TEMPLATE without MARK in their text (LABEL1) and
# with it (LABEL2), and every failed candidate.
kinds_report () {
    python3 - "$@" <<'PY'
import json, sys
path, tmpl, label1, mark, label2 = sys.argv[1:6]
try:
    d = json.load(open(path))
except Exception as e:
    print("  no result", e); sys.exit(0)
b = d["baselines"]
print("  cuSPARSE %.1f us, SGEMM %.1f, TF32 %.1f; failed %d of %d" % (b["cusparse_us"], b["sgemm_us"], b["tf32_us"],
      d["search"]["failed"], d["search"]["candidates"]))
for label, has in ((label1, False), (label2, True)):
    t = sorted((c["us"], c["config"], c.get("err")) for c in d["candidates"]
               if c["status"] == "ok" and c["config"].startswith(tmpl) and (mark in c["config"]) == has)
    print("  %-5s best %s; top 3 %s; max err %s" % (label, "%.2f us %s" % t[0][:2] if t else "none",
          ", ".join("%.2f %s" % x[:2] for x in t[:3]), max((x[2] or 0) for x in t) if t else "-"))
for c in d["candidates"]:
    if c["status"] != "ok":
        print("  FAILED %s %s %s" % (c["config"], c["status"], str(c.get("error", ""))[:200]))
PY
}
# verify_report JSON NAMES: bundle verify's layers, named by NAMES' "cI config" lines.
verify_report () {
    python3 - "$1" "$2" <<'PY'
import json, sys
names = dict(line.split() for line in open(sys.argv[2]))
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print("  no result", e); sys.exit(0)
for l in d["layers"]:
    print("  %-34s %-3s err %-9.2g %8.2f us" % (names.get(l["name"], l["name"]), l["status"], l.get("error", -1), l.get("time_us", -1)))
PY
}
for what in "$@"; do
    case $what in
    check)
        "$SPMMFARM" devices | tee "$OUT/devices.txt"
        SF_GPU_CONFIGS=${SF_GPU_CONFIGS:-8} timeout ${SF_CHECK_TIME:-420} tests/gpu/check-gpu.sh 2>&1 | tee "$OUT/check-gpu.log"
        ;;
    export)
        RT_DEMO=$PWD/.devpack/bin/rt_demo SPMMFARM_RT_LIB=$PWD/.devpack/bin/libspmmfarm-rt.so.0 \
            timeout ${SF_EXPORT_TIME:-500} sh tests/cli_export.sh 2>&1 | tee "$OUT/cli-export.log"
        ;;
    farm)
        # spmmfarm local (cuda) on the six DLMC Transformer layer-0 matrices at
        # two sparsities, N = 4096, with the compile pool at SF_FARM_THREADS
        # (one fresh store each: nothing answered from an earlier run).
        # SF_FARM_SMALL=COUNT: farm-manifest.py's `small` set instead.
        if [ -n "${SF_FARM_SMALL:-}" ]; then
            python3 tests/gpu/farm-manifest.py "$SF_SHARED_DATA/dlmc" /tmp/farm.json small "$SF_FARM_SMALL"
        else
            python3 tests/gpu/farm-manifest.py "$SF_SHARED_DATA/dlmc" /tmp/farm.json transformer \
                ${SF_FARM_SPARSITIES:-0.8 0.9} --n ${SF_FARM_N:-4096} --layers ${SF_FARM_LAYERS:-0}
        fi
        cp /tmp/farm.json "$OUT/json/farm-manifest.json"
        # Cold compiles: the CUDA driver's JIT cache (~/.nv/ComputeCache)
        # turned a repeated run's 76 compile CPU-s into 1.7 (docs/BENCHMARKS.md):
        # it is emptied before, and disabled during, every run.
        export CUDA_CACHE_DISABLE=1
        for t in ${SF_FARM_THREADS:-16 4 1}; do
            rm -rf /tmp/farm-t$t.store /tmp/farm-t$t.bundle ~/.nv/ComputeCache
            touch /tmp/farm-t$t.start
            timeout ${SF_FARM_TIME:-200} "$SPMMFARM" local --model /tmp/farm.json --store /tmp/farm-t$t.store \
                --compile-threads $t ${SF_FARM_ARGS:-} --json -o /tmp/farm-t$t.bundle \
                > "$OUT/json/farm-t$t.json" 2>> "$OUT/farm-stderr.log"
            echo "local, $t compile threads: exit $?"
            # what got done (also when the time limit stopped it)
            "$SPMMFARM" store dump /tmp/farm-t$t.store --db campaigns --json > "$OUT/json/farm-t$t-campaign.json"
            "$SPMMFARM" store dump /tmp/farm-t$t.store --db best --json > "$OUT/json/farm-t$t-best.json"
            head -c 600 "$OUT/json/farm-t$t-campaign.json"; echo
            python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print({k: d[k] for k in d if k != "layers"})' "$OUT/json/farm-t$t.json" 2>&1 | tail -1
            echo "files written under \$HOME during the run (a compile cache would show here):"
            find ~ -newer /tmp/farm-t$t.start -type f 2>/dev/null | head -5
        done
        unset CUDA_CACHE_DISABLE
        ;;
    sweep)
        # issue 6: the default training sweep into a store that travels
        # (resumes: carry .devpack/sweep.store back), then train on it.
        S=$PWD/.devpack/sweep.store
        timeout ${SF_SWEEP_TIME:-520} "$SPMMFARM" sweep-local --sweep conf/sweeps/default.conf --store "$S" \
            --json -q > "$OUT/json/sweep.json" 2>> "$OUT/sweep-stderr.log"
        echo "sweep-local: exit $?"; tail -c 1500 "$OUT/json/sweep.json"
        if [ -n "${SF_SWEEP_TRAIN:-}" ]; then
            gpu=$("$SPMMFARM" devices --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["devices"][0]["gpu_type"])')
            "$SPMMFARM" train --store "$S" --gpu-type "$gpu" -o "$OUT/model-h100.json" --json \
                > "$OUT/json/train.json" 2>> "$OUT/sweep-stderr.log"
            echo "train: exit $?"; cat "$OUT/json/train.json"
        fi
        # the sweep's results, small enough to come back (the store is not)
        "$SPMMFARM" store dump "$S" --db results --json 2>/dev/null | gzip -9 > "$OUT/sweep-results.jsonl.gz"
        [ -n "${SF_SWEEP_TAR:-}" ] && tar czf "$OUT/sweep-store.tgz" -C .devpack sweep.store
        ;;
    smoke)
        # a short GPU check of the worker after a change: local (cuda) on two
        # small real layers, the rank strategy with the shipped H100 model,
        # and a worker stopped by SIGTERM in the middle of a search (BYE,
        # the search cancelled, exit 0).
        python3 tests/gpu/farm-manifest.py "$SF_SHARED_DATA/dlmc" /tmp/smoke.json small 8
        python3 -c 'import json; d=json.load(open("/tmp/smoke.json")); d["layers"]=d["layers"][6:8]; json.dump(d,open("/tmp/smoke2.json","w"))'
        timeout 120 "$SPMMFARM" local --model /tmp/smoke2.json --store /tmp/smoke.store --max-configs 3 --proxy-top 1 \
            -o /tmp/smoke.bundle 2>&1 | tail -6; echo "local: exit ${PIPESTATUS[0]}"
        "$SPMMFARM" bundle verify /tmp/smoke.bundle 2>&1 | tail -3
        f=$(python3 -c 'import json; print(json.load(open("/tmp/smoke.json"))["layers"][7]["file"])')
        timeout 120 "$SPMMFARM" tune-local "$f" --n 784 --strategy rank --model docs/bench/h100/rank-v2/model.json \
            --no-store --json -q > "$OUT/json/smoke-rank.json" 2>> "$OUT/smoke-stderr.log"
        echo "tune-local rank: exit $?"
        python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["best"], d["search"])' "$OUT/json/smoke-rank.json"
        f=$(python3 -c 'import json; print(json.load(open("/tmp/smoke.json"))["layers"][0]["file"])')
        "$SPMMFARM" coordinator --store /tmp/sig.store --workers tcp://127.0.0.1:7555 --clients tcp://127.0.0.1:7556 \
            2>> "$OUT/smoke-stderr.log" &
        coord=$!
        sleep 1
        SPMMFARM_LOG=info "$SPMMFARM" worker --connect tcp://127.0.0.1:7555 --backend cuda 2> "$OUT/smoke-worker.log" &
        worker=$!
        "$SPMMFARM" submit --coordinator tcp://127.0.0.1:7556 "$f" --n 4096 --max-configs 3 --json
        sleep 12
        t0=$(date +%s.%N)
        kill -TERM $worker
        wait $worker; rc=$?
        echo "worker after SIGTERM mid-search: exit $rc in $(python3 -c "import time; print(round(time.time() - $t0, 1))") s"
        grep -E "BYE|cancel|abandon" "$OUT/smoke-worker.log"
        kill -TERM $coord; wait $coord
        ;;
    rankeval)
        # issue 6: rank-eval on the full legal space of small bench205 layers
        # (M, K <= 192; SF_RANKEVAL_FILTER, SF_RANKEVAL_LIMIT, SF_RANKEVAL_ARGS
        # e.g. "--proxy-top 3"), on the store the `sweep` section left in
        # .devpack/sweep.store (run `sweep` with SF_SWEEP_TRAIN=1 first, in the
        # same call: the store is too big to come back). Resumes from
        # $SF_RANKEVAL_DIR when carried. rank-eval turns the CUDA JIT cache off.
        gpu=$("$SPMMFARM" devices --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["devices"][0]["gpu_type"])')
        dir=${SF_RANKEVAL_DIR:-$OUT/rank}
        # SF_RANKEVAL_MODEL=FILE: a model file (e.g. the committed
        # docs/bench/h100/rank/model.json) instead of the sweep's store.
        src="--store $PWD/.devpack/sweep.store"
        [ -n "${SF_RANKEVAL_MODEL:-}" ] && src="--model $SF_RANKEVAL_MODEL"
        timeout ${SF_RANKEVAL_TIME:-500} "$SPMMFARM" rank-eval $src --gpu-type "$gpu" \
            --suite conf/bench/bench205.conf --filter "${SF_RANKEVAL_FILTER:-m<=192,k<=192}" \
            ${SF_RANKEVAL_LIMIT:+--limit $SF_RANKEVAL_LIMIT} ${SF_RANKEVAL_ARGS:-} -o "$dir" -q 2>> "$OUT/rankeval-stderr.log"
        echo "rank-eval: exit $?"
        head -c 1200 "$dir/rank.json"
        ;;
    dprofile)
        # issue 3, the D plan in docs/KERNELS.md: where D's time goes next to
        # cuSPARSE and SGEMM on one large layer (ncu, one launch of each after
        # warm-up, caches left warm as in the timing loop). SF_DPROF_SPARSITY
        # (default 0.9); SF_DPROF_KERNELS: ncu kernel-name regexes.
        "$SPMMFARM" gen --m 768 --k 3072 --sparsity ${SF_DPROF_SPARSITY:-0.9} --seed 1 -o /tmp/dprof.smtx
        i=0
        for re in ${SF_DPROF_KERNELS:-sf_d_r2_v2_t128_g2_o0 csrmm|spmm|SpMM gemm}; do
            i=$((i + 1))
            timeout ${SF_DPROF_TIME:-150} ncu --target-processes all --kernel-name "regex:$re" --launch-skip 4 \
                --launch-count ${SF_DPROF_LAUNCHES:-2} --cache-control none --section SpeedOfLight \
                --section MemoryWorkloadAnalysis --section Occupancy --section WarpStateStats \
                --section SchedulerStats --section LaunchStats -f -o "$OUT/dprofile-$i" \
                "$SPMMFARM" tune-local /tmp/dprof.smtx --n 512 --strategy exhaustive --templates D --max-configs 24 \
                --no-store --json -q > "$OUT/json/dprofile-tune-$i.json" 2>> "$OUT/dprofile-stderr.log"
            echo "ncu $re: exit $?"
            ncu -i "$OUT/dprofile-$i.ncu-rep" --page details > "$OUT/dprofile-$i.txt" 2>&1
            grep -E "^  [a-zA-Z_]|Duration|Memory Throughput|L2 Hit|L1/TEX Hit|Achieved Occupancy|Registers Per|Issued Warp|No Eligible|Warp Cycles Per Issued" \
                "$OUT/dprofile-$i.txt" | head -40
        done
        ;;
    dunion)
        # issue 3: D's union encoding (--d-union, session 6) against the rows
        # encoding, cuSPARSE and SGEMM on large layers where dense won bench205
        # (768 x 3072, N = 512, at SF_DUNION_SPARSITIES); exhaustive over an
        # even sample of D configs, every candidate verified. Not run yet.
        for sp in ${SF_DUNION_SPARSITIES:-0.5 0.7 0.8 0.9}; do
            "$SPMMFARM" gen --m 768 --k 3072 --sparsity $sp --seed 1 -o /tmp/du$sp.smtx
            timeout ${SF_DUNION_TIME:-120} "$SPMMFARM" tune-local /tmp/du$sp.smtx --n 512 --strategy exhaustive \
                --templates D --d-union --max-configs ${SF_DUNION_CONFIGS:-48} --no-store --json -q \
                > "$OUT/json/dunion-$sp.json" 2>> "$OUT/dunion-stderr.log"
            python3 - "$OUT/json/dunion-$sp.json" $sp <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print(sys.argv[2], "no result", e); sys.exit(0)
ok = [c for c in d["candidates"] if c["status"] == "ok" and not c["proxy"] and c["config"].startswith("D")]
rows = min((c["us"] for c in ok if ".e1." not in c["config"]), default=float("nan"))
union = min((c["us"] for c in ok if ".e1." in c["config"]), default=float("nan"))
b = d["baselines"]
print("sparsity %s: D rows %.1f us, D union %.1f us (%.2fx), cuSPARSE %.1f, SGEMM %.1f, TF32 %.1f; %d failed" % (
    sys.argv[2], rows, union, rows / union, b["cusparse_us"], b["sgemm_us"], b["tf32_us"], d["search"]["failed"]))
PY
        done
        ;;
    dshfl)
        # issue 3, session 7: variants of D's rows kernel on the same layers,
        # the same D configs, with cuSPARSE and SGEMM of the same runs.
        # SF_DSHFL_BINS: NAME=PROGRAM pairs, the first the reference (default:
        # old = .devpack/bin/spmmfarm-d0, the kernel before the warp shuffles,
        # and new = this build). SF_DSHFL_CONFIGS: D configs per layer.
        bins=${SF_DSHFL_BINS:-old=$PWD/.devpack/bin/spmmfarm-d0 new=$SPMMFARM}
        for spec in ${SF_DSHFL_LAYERS:-768x3072@0.95:512 768x3072@0.9:512 768x3072@0.8:512 256x2304@0.9:784 512x1024@0.95:784 128x1152@0.8:3136}; do
            mk=${spec%%@*}; rest=${spec#*@}; sp=${rest%%:*}; n=${rest#*:}
            "$SPMMFARM" gen --m ${mk%x*} --k ${mk#*x} --sparsity $sp --seed 1 -o /tmp/ds-$mk-$sp.smtx
            names=
            for nb in $bins; do
                name=${nb%%=*}; bin=${nb#*=}; names="$names $name"
                timeout ${SF_DSHFL_TIME:-100} "$bin" tune-local /tmp/ds-$mk-$sp.smtx --n $n --strategy exhaustive \
                    --templates D --max-configs ${SF_DSHFL_CONFIGS:-24} --no-store --json -q \
                    > "$OUT/json/dshfl-$mk-$sp-$name.json" 2>> "$OUT/dshfl-stderr.log"
            done
            python3 - "$OUT/json/dshfl-$mk-$sp" "$spec" $names <<'PY'
import json, statistics, sys
def times(d):
    return {c["config"]: c["us"] for c in d["candidates"] if c["status"] == "ok" and c["config"].startswith("D")}
runs = {}
for name in sys.argv[3:]:
    try:
        runs[name] = json.load(open(sys.argv[1] + "-%s.json" % name))
    except Exception as e:
        print(sys.argv[2], name, "no result", e)
if not runs:
    sys.exit(0)
ref = sys.argv[3]
b = next(iter(runs.values()))["baselines"]
print("%s: cuSPARSE %.1f us, SGEMM %.1f, TF32 %.1f" % (sys.argv[2], b["cusparse_us"], b["sgemm_us"], b["tf32_us"]))
tr = times(runs[ref]) if ref in runs else {}
for name, d in runs.items():
    t = times(d)
    best = min(t, key=t.get) if t else None
    both = sorted(set(t) & set(tr))
    ratios = [tr[c] / t[c] for c in both]
    print("    %-6s best %7.1f us %-28s %s; failed %d" % (name, t[best] if best else float("nan"), best,
          "per config %s/%s median %.2fx [%.2f..%.2f] over %d" % (ref, name, statistics.median(ratios), min(ratios),
          max(ratios), len(both)) if ratios and name != ref else "", d["search"]["failed"]))
PY
        done
        ;;
    dslab)
        # issue 3, session 8: template D's slab kernel (.e2: B staged in shared
        # memory, K split over a cluster) against the rows kernel, in one
        # tune-local run per layer (exhaustive, D only, SF_DSLAB_CONFIGS of
        # each encoding), with cuSPARSE and SGEMM of the same run; every
        # candidate verified. Then slab bundles through the runtime (bundle
        # verify) at N = 509, 3 and 1.
        for spec in ${SF_DSLAB_LAYERS:-768x3072@0.95:512 768x3072@0.9:512 768x3072@0.8:512 256x2304@0.9:784 512x1024@0.95:784 128x1152@0.8:3136 768x768@0.9:512 768x3072@0.95:509 100x300@0.98:1}; do
            mk=${spec%%@*}; rest=${spec#*@}; sp=${rest%%:*}; n=${rest#*:}
            f=/tmp/dl-$mk-$sp.smtx
            "$SPMMFARM" gen --m ${mk%x*} --k ${mk#*x} --sparsity $sp --seed 1 -o $f > /dev/null
            timeout ${SF_DSLAB_TIME:-150} "$SPMMFARM" tune-local $f --n $n --strategy exhaustive \
                --templates D --max-configs ${SF_DSLAB_CONFIGS:-48} --no-store --json -q \
                > "$OUT/json/dslab-$mk-$sp-n$n.json" 2>> "$OUT/dslab-stderr.log"
            echo "$spec: tune-local exit $?"
            kinds_report "$OUT/json/dslab-$mk-$sp-n$n.json" D rows '.e2' slab
        done
        f=/tmp/dl-768x3072-0.95.smtx
        layers= matrices= i=0
        for cfg in ${SF_DSLAB_VERIFY:-D:r64.v1.t512.g4.o0.e2.none D:r128.v1.t512.g8.o0.e2.none D:r32.v2.t256.g8.o0.e2.none D:r64.v4.t512.g8.o0.e2.none D:r1.v4.t64.g1.o0.none}; do
            i=$((i + 1)); layers="$layers c$i=$f:512:$cfg"; matrices="$matrices --matrix c$i=$f"
            echo "c$i $cfg" >> /tmp/dslab.configs
        done
        rm -rf /tmp/dl.bundle
        "$SPMMFARM" bundle create -o /tmp/dl.bundle $layers > /dev/null 2>> "$OUT/dslab-stderr.log" || echo "bundle create failed"
        for nn in 512 509 3 1; do
            timeout 120 "$SPMMFARM" bundle verify /tmp/dl.bundle $matrices --n $nn --json > "$OUT/json/dslab-verify-n$nn.json" 2>> "$OUT/dslab-stderr.log"
            echo "bundle verify N=$nn: exit $?"
            verify_report "$OUT/json/dslab-verify-n$nn.json" /tmp/dslab.configs
        done
        ;;
    scale)
        # issue 22: search at model scale (tests/gpu/model-scale.sh says what
        # each part runs and how long); its files land in $OUT
        SF_DEVPACK=$PWD/.devpack tests/gpu/model-scale.sh ${SF_SCALE_PARTS:-parts}
        ;;
    usplit)
        # issue 3, session 9: U's configs split over K (.k2/.k4/.k8) against
        # the unsplit ones, in one exhaustive U-only tune-local per layer
        # (SF_USPLIT_CONFIGS of each kind, the bench's code budget), every
        # full kernel verified, with SGEMM and cuSPARSE of the same run.
        # Layer specs MxK@SPARSITY:N[:extra tune-local options].
        for spec in ${SF_USPLIT_LAYERS:-70x300@0.8:1001:--bias:--relu 100x300@0.98:1 128x1152@0.9:3136 128x1152@0.8:3136 256x512@0.9:3136 512x256@0.8:3136 256x1024@0.9:784 768x768@0.95:512 64x576@0.9:12544}; do
            mk=${spec%%@*}; rest=${spec#*@}; sp=${rest%%:*}; rest=${rest#*:}; n=${rest%%:*}
            extra=; [ "$rest" != "$n" ] && extra=$(echo "${rest#*:}" | tr ':' ' ')
            f=/tmp/us-$mk-$sp.smtx
            "$SPMMFARM" gen --m ${mk%x*} --k ${mk#*x} --sparsity $sp --seed 1 -o $f > /dev/null
            timeout ${SF_USPLIT_TIME:-150} "$SPMMFARM" tune-local $f --n $n --strategy exhaustive \
                --templates U --u-split --max-configs ${SF_USPLIT_CONFIGS:-12} --max-code-fmas 30000 --no-store --json -q $extra \
                > "$OUT/json/usplit-$mk-$sp-n$n.json" 2>> "$OUT/usplit-stderr.log"
            echo "$spec: tune-local exit $?"
            kinds_report "$OUT/json/usplit-$mk-$sp-n$n.json" U plain '.k' split
        done
        # split kernels through the runtime: more than 48 KB of shared memory
        # (r64.t64.k4), the generic path (N % V != 0), N = 1
        f=/tmp/us-128x1152-0.9.smtx
        layers= matrices= i=0
        for cfg in ${SF_USPLIT_VERIFY:-U:r64.v1.t64.g1.o0.k4.m104.none U:r32.v2.t64.g1.o1.k8.m104.sim U:r16.v4.t32.g1.o0.k2.m104.nnz U:r8.v1.t128.g1.o0.m64.none}; do
            i=$((i + 1)); layers="$layers c$i=$f:3136:$cfg"; matrices="$matrices --matrix c$i=$f"
            echo "c$i $cfg" >> /tmp/usplit.configs
        done
        rm -rf /tmp/us.bundle
        "$SPMMFARM" bundle create -o /tmp/us.bundle $layers > /dev/null 2>> "$OUT/usplit-stderr.log" || echo "bundle create failed"
        for nn in 3136 3135 1; do
            timeout 120 "$SPMMFARM" bundle verify /tmp/us.bundle $matrices --n $nn --json > "$OUT/json/usplit-verify-n$nn.json" 2>> "$OUT/usplit-stderr.log"
            echo "bundle verify N=$nn: exit $?"
            verify_report "$OUT/json/usplit-verify-n$nn.json" /tmp/usplit.configs
        done
        ;;
    dispatch)
        # issue 5: the coordinator's dispatch rate, 64 dry-run workers, tiny jobs
        SPMMFARM=$SPMMFARM bash tests/bench/dispatch.sh ${SF_DISPATCH_WORKERS:-64} ${SF_DISPATCH_LAYERS:-2000} \
            > "$OUT/json/dispatch.json" 2>> "$OUT/dispatch-stderr.log"
        echo "dispatch: exit $?"; cat "$OUT/json/dispatch.json"
        ;;
    scaling)
        # issue 7: one campaign of SF_SCALE_LAYERS real layers, once with one
        # worker, once with one worker per GPU; then compare the times of the
        # candidates both runs measured.
        python3 tests/gpu/farm-manifest.py "$SF_SHARED_DATA/dlmc" /tmp/scale.json mixed ${SF_SCALE_LAYERS:-40} \
            ${SF_SCALE_MAX_NNZ:+--max-nnz $SF_SCALE_MAX_NNZ}
        cp /tmp/scale.json "$OUT/json/scale-manifest.json"
        nvidia-smi topo -m > "$OUT/topo.txt" 2>&1
        gpus=$(nvidia-smi -L | wc -l)
        export CUDA_CACHE_DISABLE=1  # cold compiles in both runs (see farm)
        # SF_SCALE_RUNS: which runs (worker counts) this call makes, e.g. "1"
        # then "2" in two calls when both do not fit in one.
        for w in ${SF_SCALE_RUNS:-1 $gpus}; do
            rm -rf /tmp/scale-w$w.store ~/.nv/ComputeCache
            timeout ${SF_SCALE_TIME:-280} "$SPMMFARM" local --model /tmp/scale.json --store /tmp/scale-w$w.store \
                --workers $w ${SF_SCALE_ARGS:-} --json > "$OUT/json/scale-w$w.json" 2>> "$OUT/scale-stderr.log"
            echo "local, $w worker(s): exit $?"
            "$SPMMFARM" store dump /tmp/scale-w$w.store --db results --json > "$OUT/json/scale-w$w-results.json" 2>>"$OUT/scale-stderr.log"
        done
        unset CUDA_CACHE_DISABLE
        [ -f "$OUT/json/scale-w1.json" ] && [ -f "$OUT/json/scale-w$gpus.json" ] &&
            python3 tests/gpu/scaling.py "$OUT/json" $gpus "$OUT/scaling.json"
        ;;
    bench)
        "$SPMMFARM" gen --m 768 --k 768 --sparsity 0.9 --seed 1 -o /tmp/l90.smtx
        "$SPMMFARM" gen --m 768 --k 768 --sparsity 0.95 --seed 1 -o /tmp/l95.smtx
        # SF_BENCH_SPECS: space-separated LAYER:N pairs
        for spec in ${SF_BENCH_SPECS:-l90:4096 l90:512}; do
            set -- ${spec%:*} ${spec#*:}
            timeout 250 "$SPMMFARM" tune-local /tmp/$1.smtx --n "$2" --strategy proxy --no-store \
                ${SF_BENCH_CONFIGS:+--max-configs $SF_BENCH_CONFIGS} --json -q > "$OUT/json/tune-$1-n$2.json" 2>> "$OUT/stderr.log"
            python3 - "$OUT/json/tune-$1-n$2.json" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print(sys.argv[1], "no result", e); sys.exit(0)
b, s, base = d["best"], d["search"], d["baselines"]
print("%-6s N=%-5d best %-30s %8.2f us err %s | gen %.2f | sgemm %.2f tf32 %.2f cusparse %.2f | %d timed %d failed, %.0f s" % (
    sys.argv[1].split("tune-")[1][:5], d["n"], b["config"], b["us"], b["max_rel_err"], d["best_generated_us"] or -1,
    base["sgemm_us"], base["tf32_us"], base["cusparse_us"], s["timed"], s["failed"], s["wall_s"]))
PY
        done
        ;;
    suite)
        # bench on a suite: SF_SUITE_FILTER, SF_SUITE_ARGS (extra options),
        # SF_SUITE_TIME (seconds); resumes from $SF_SUITE_DIR if carried.
        dir=${SF_SUITE_DIR:-$OUT/bench}
        mkdir -p "$dir"
        timeout "${SF_SUITE_TIME:-400}" "$SPMMFARM" bench --suite conf/bench/bench205.conf \
            ${SF_SUITE_FILTER:+--filter "$SF_SUITE_FILTER"} -o "$dir" -q ${SF_SUITE_ARGS:-} 2>> "$OUT/stderr.log"
        echo "bench exit $?"; cat "$dir/summary.json" 2>/dev/null | head -60
        tar -C "$(dirname "$dir")" -czf "$OUT/bench.tgz" "$(basename "$dir")"
        ;;
    proxyeval)
        dir=${SF_PE_DIR:-$OUT/proxy-eval}
        mkdir -p "$dir"
        timeout "${SF_PE_TIME:-300}" "$SPMMFARM" proxy-eval --suite conf/bench/bench205.conf \
            ${SF_PE_FILTER:+--filter "$SF_PE_FILTER"} -o "$dir" -q ${SF_PE_ARGS:-} 2>> "$OUT/stderr.log"
        echo "proxy-eval exit $?"; cat "$dir/proxy.json" 2>/dev/null
        tar -C "$(dirname "$dir")" -czf "$OUT/proxy-eval.tgz" "$(basename "$dir")"
        ;;
    fidelity)
        # exhaustive on a sample: full-kernel times of configs whose proxies
        # the bench run timed, to measure proxy error
        "$SPMMFARM" gen --m 768 --k 768 --sparsity 0.95 --seed 1 -o /tmp/l95.smtx
        for strategy in proxy exhaustive; do
            timeout 250 "$SPMMFARM" tune-local /tmp/l95.smtx --n 4096 --strategy $strategy --no-store \
                --max-configs "${SF_FIDELITY_CONFIGS:-16}" --json -q > "$OUT/json/$strategy-l95-n4096.json" 2>> "$OUT/stderr.log"
            python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[1], d["best"]["config"], d["best"]["us"], d["search"])' "$OUT/json/$strategy-l95-n4096.json"
        done
        ;;
    emitpath)
        # issue 3: the same full U kernels emitted as PTX (nvJitLink, the
        # default), as CUDA C (SPMMFARM_U_EMIT=cuda: NVRTC to a cubin) and as
        # PTX with ptxas -O1 (SPMMFARM_U_EMIT=ptx-o1), each verified and
        # timed; compile and kernel times side by side against the default
        # (docs/KERNELS.md, "Emission path"). SF_EMIT_SPECS: SPARSITY:N pairs
        # of 768 x 768 layers; SF_EMIT_CONFIGS configs each; SF_EMIT_WAYS the
        # paths (NVRTC passes 280 s past ~30,000 nonzeros: for a 90 % layer,
        # SF_EMIT_SPECS=0.9:4096 SF_EMIT_WAYS="ptx ptx-o1").
        for spec in ${SF_EMIT_SPECS:-0.99:4096 0.98:4096}; do
            "$SPMMFARM" gen --m 768 --k 768 --sparsity ${spec%:*} --seed 1 -o /tmp/emit.smtx
            for emit in ${SF_EMIT_WAYS:-ptx cuda ptx-o1}; do
                SPMMFARM_U_EMIT=$emit timeout 280 "$SPMMFARM" tune-local /tmp/emit.smtx --n ${spec#*:} \
                    --templates U --strategy exhaustive --max-configs ${SF_EMIT_CONFIGS:-2} --no-store --json -q \
                    > "$OUT/json/emit-$emit-${spec%:*}.json" 2>> "$OUT/emitpath-stderr.log"
                echo "$spec $emit: exit $?"
            done
            for emit in ${SF_EMIT_WAYS:-ptx cuda ptx-o1}; do
                [ $emit = ptx ] && continue
                python3 - "$OUT/json/emit-ptx-${spec%:*}.json" "$OUT/json/emit-$emit-${spec%:*}.json" $emit <<'PY'
import json, sys
runs = []
for f in sys.argv[1:3]:
    try:
        runs.append({c["config"]: c for c in json.load(open(f))["candidates"] if not c["proxy"]})
    except Exception as e:
        print(f, "no result", e); sys.exit(0)
for cfg in sorted(set(runs[0]) & set(runs[1])):
    if cfg.startswith("dense"):
        continue
    p, c = runs[0][cfg], runs[1][cfg]
    print("%-30s PTX %8.2f us (err %s, %6.1f s, %3d regs) | %s %8.2f us (err %s, %6.1f s, %3d regs) | ratio %.3f" % (
        cfg, p.get("us") or -1, p.get("err"), p["compile_s"], p["registers"], sys.argv[3], c.get("us") or -1,
        c.get("err"), c["compile_s"], c["registers"], (c.get("us") or 0) / (p.get("us") or 1)))
PY
            done
        done
        ;;
    esac
done
tar -C "$OUT" -czf "$OUT/json.tgz" json && rm -rf "$OUT/json"
