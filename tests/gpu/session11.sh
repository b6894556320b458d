#!/bin/bash
# session11.sh: one device call of the precision-tier work, from binaries
# packed by ../shared/tools/devpack into .devpack-final/ (spmmfarm,
# tcdense and their libraries; this repository's tests/ and conf/ travel
# with the working tree). Each part has its own time limit so that one call
# fits; bench runs are resumable, so a part cut short keeps what it did.
#   tests/gpu/session11.sh          all parts, logs and JSON under $OUT
# Parts: 1. check-gpu part 3 (every tier's dense candidates on awkward
# shapes; bundles' dense layers through the runtime); 2. bench205's BERT
# rows (m = 768) in fp32 (3xTF32 dense candidate beside U, D, SGEMM);
# 3. the llm suite's decode problems in bf16 (cuBLASLt bf16, our dense
# kernels and template T).
set -u
OUT=${OUT:-/tmp/out}
P=$PWD/.devpack-final
export LD_LIBRARY_PATH=$P/lib:/usr/local/cuda/lib64
export SPMMFARM=$P/bin/spmmfarm TCDENSE=$P/bin/tcdense SF_TOP_SRCDIR=$PWD SF_TOP_BUILDDIR=$PWD
# cuSPARSELt (the 2:4 information row) from PyTorch's wheel when present
LT=$(python3 -c 'import nvidia.cusparselt, os; print(os.path.dirname(nvidia.cusparselt.__file__))' 2>/dev/null)
[ -n "$LT" ] && export SPMMFARM_CUSPARSELT=$(ls "$LT"/lib/libcusparseLt.so* 2>/dev/null | head -1)
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/nvidia-smi.txt"
cat "$P/commit.txt" | tee -a "$OUT/nvidia-smi.txt"
part () {  # part NAME LIMIT_S COMMAND...: runs it, logs, says how it ended
    name=$1; limit=$2; shift 2
    t0=$(date +%s)
    timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
    rc=$?
    echo "== $name: rc=$rc in $(( $(date +%s) - t0 )) s" | tee -a "$OUT/parts.txt"
    tail -25 "$OUT/$name.log" | cut -c1-200
}
part check-gpu-3 ${SF_LIMIT_CHECK:-80} env SF_CHECK_PART=3 tests/gpu/check-gpu.sh
part bench205-fp32-bert ${SF_LIMIT_BERT:-150} "$SPMMFARM" bench --suite conf/bench/bench205.conf \
    --filter 'm=768' -o "$OUT/bench205-fp32-bert" -q --max-configs 16 --proxy-top 4 --max-code-fmas 30000
part llm-bf16-decode ${SF_LIMIT_LLM:-230} "$SPMMFARM" bench --suite conf/bench/llm.conf --precision bf16 \
    --filter 'n<=64' -o "$OUT/llm-bf16-decode" -q --max-configs 8 --compile-threads 16
cd "$OUT" && tar czf results.tgz bench205-fp32-bert llm-bf16-decode *.log parts.txt nvidia-smi.txt 2>/dev/null
rm -rf "$OUT/bench205-fp32-bert" "$OUT/llm-bf16-decode"
ls -la "$OUT"
