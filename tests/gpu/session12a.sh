#!/bin/bash
# session12a.sh: session 12's first device call, verification first: the
# new kernels of issues 19-23 on the GPU before anything is measured with
# them. Binaries packed by ../shared/tools/devpack into .devpack-s12/
# (spmmfarm, tcdense, upartscmp, libspmmfarm-rt.so.0, four DLMC matrices,
# commit.txt) and .devpack-tsparse/ (tc_bench with its
# cubins, tsparse-s12.sh); this repository's tests/ and conf/ travel with
# the working tree. Each part has its own time limit so that one call
# fits (about 430 s); logs and JSON under $OUT, tarred.
#   tests/gpu/session12a.sh
# Parts: 1. U kernels compiled in parts against one function (issue 22's
# fault and its fix), incl. compute-sanitizer; 2. check-gpu part 3: every
# tier's dense candidates (mma.sync and the new wgmma ones) on awkward
# shapes, bundles' dense layers through the runtime; 3. the nk layout
# (issue 23): every nk dense kernel and nk bundles through the runtime;
# 4. template T's new variants (a1, b1, f1): verify, decode, prefill
# against cuBLAS bf16; 5. (SF_S12_BENCH=1) bench205's BERT rows in fp32
# (wgmma 3xTF32 dense candidate beside U, D, SGEMM, cuBLAS TF32).
set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
P=$PWD/.devpack-s12
export LD_LIBRARY_PATH=$P/lib:/usr/local/cuda/lib64
export SPMMFARM=$P/bin/spmmfarm TCDENSE=$P/bin/tcdense SPMMFARM_RT_LIB=$P/bin/libspmmfarm-rt.so.0
export SF_TOP_SRCDIR=$PWD SF_TOP_BUILDDIR=$PWD SF_SHARED_DATA=$P/data
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/nvidia-smi.txt"
cat "$P/commit.txt" | tee -a "$OUT/nvidia-smi.txt"
part () {  # part NAME LIMIT_S COMMAND...: runs it, logs, says how it ended
    name=$1; limit=$2; shift 2
    t0=$(date +%s)
    timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
    rc=$?
    echo "== $name: rc=$rc in $(( $(date +%s) - t0 )) s" | tee -a "$OUT/parts.txt"
    grep -E "^(PASS|FAIL)|passed|failed|verdict|VERDICT" "$OUT/$name.log" | tail -8 | cut -c1-200
}
mkdir -p "$OUT/uparts"
part uparts 125 env OUT="$OUT/uparts" SF_DEVPACK=$P UPARTSCMP=$P/bin/upartscmp SF_UPARTS_PLAIN_S=40 \
    SF_UPARTS_QUICK_S=25 SF_UPARTS_SAN_S=40 SF_UPARTS_TIME_S=15 bash tests/gpu/uparts-check.sh
part check-gpu-3 70 env SF_CHECK_PART=3 sh tests/gpu/check-gpu.sh
part nk-dense 70 env SF_NK_PART=dense sh tests/gpu/check-gpu-nk.sh
part nk-runtime 30 env SF_NK_PART=runtime sh tests/gpu/check-gpu-nk.sh
mkdir -p "$OUT/tsparse"
part tsparse 70 env OUT="$OUT/tsparse" bash .devpack-tsparse/tsparse-s12.sh short
[ -n "${SF_S12_BENCH:-}" ] && part bench205-fp32-bert 130 "$SPMMFARM" bench --suite conf/bench/bench205.conf \
    --filter 'm=768' -o "$OUT/bench205-fp32-bert" -q --max-configs 16 --proxy-top 4 --max-code-fmas 30000
cd "$OUT" && tar czf results.tgz uparts tsparse bench205-fp32-bert *.log parts.txt nvidia-smi.txt 2>/dev/null
rm -rf uparts tsparse bench205-fp32-bert
ls -la "$OUT"
