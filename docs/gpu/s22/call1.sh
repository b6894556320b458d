#!/bin/sh
# Session 22, call 1 (about 9 minutes on a warm H100): T's space with e2 in
# e1's place through the farm's whole path (tests/gpu/t-e2.sh), then the
# LLaMA-shaped decode in bf16 end to end (issue 23) with a wider T search
# than session 19's (--max-configs $MAXC, default 12, instead of 4), 90 %
# first, then 70 %, while the deadline allows. Results under $OUT:
# COMMIT.txt, t-e2.log, e2e-llama.tar.gz.
P=${P:-$PWD/.devpack-next}
T0=$(date +%s)
cp "$P/COMMIT" "$OUT/COMMIT.txt"; nvidia-smi --query-gpu=name,driver_version --format=csv >>"$OUT/COMMIT.txt"
export LD_LIBRARY_PATH="$P/lib:/usr/local/cuda/lib64"
SPMMFARM="$P/bin/spmmfarm" SF_GPU_CONFIGS=${SF_GPU_CONFIGS:-24} timeout 240 tests/gpu/t-e2.sh >"$OUT/t-e2.log" 2>&1
echo "t-e2.sh: exit $? in $(( $(date +%s) - T0 )) s" | tee -a "$OUT/COMMIT.txt"
tail -4 "$OUT/t-e2.log"
mkdir -p /tmp/e2e-llama
left=$(( ${BUDGET:-565} - ($(date +%s) - T0) - 35 ))
OUT=/tmp/e2e-llama PACK=$P MAXC=${MAXC:-12} ONLY="${ONLY:-llama:bf16:0.9 llama:bf16:0.7}" DEADLINE=$left \
    sh tests/bench/e2e-run.sh session --sparse-compile 2>&1 | tail -30
tar czf "$OUT/e2e-llama.tar.gz" -C /tmp e2e-llama
echo "total $(( $(date +%s) - T0 )) s" | tee -a "$OUT/COMMIT.txt"
