#!/bin/sh
# docs/gpu/next/call-e2.sh: one device call (about 4-8 minutes on a warm
# H100): T's encoding e2 through the whole path (tests/gpu/t-e2.sh: search,
# verification, export, runtime), then the LLaMA-shaped decode in bf16 at
# 70 % end to end (issue 23; never measured) with SPMMFARM_T_E2 as given
# (unset: T's searched space as shipped) for the rest of BUDGET seconds.
# Results under $OUT: COMMIT.txt, t-e2.log, e2e-llama.tar.gz.
P=${P:-$PWD/.devpack-next}
T0=$(date +%s)
cp "$P/COMMIT" "$OUT/COMMIT.txt"; nvidia-smi --query-gpu=name,driver_version --format=csv >>"$OUT/COMMIT.txt"
export LD_LIBRARY_PATH="$P/lib:/usr/local/cuda/lib64"
SPMMFARM="$P/bin/spmmfarm" timeout 300 tests/gpu/t-e2.sh >"$OUT/t-e2.log" 2>&1
echo "t-e2.sh: exit $? in $(( $(date +%s) - T0 )) s" | tee -a "$OUT/COMMIT.txt"
tail -4 "$OUT/t-e2.log"
mkdir -p /tmp/e2e-llama
left=$(( ${BUDGET:-560} - ($(date +%s) - T0) - 35 ))
OUT=/tmp/e2e-llama PACK=$P ONLY="${ONLY:-llama:bf16:0.7}" DEADLINE=$left sh tests/bench/e2e-run.sh session \
    --sparse-compile 2>&1 | tail -30
tar czf "$OUT/e2e-llama.tar.gz" -C /tmp e2e-llama
echo "total $(( $(date +%s) - T0 )) s" | tee -a "$OUT/COMMIT.txt"
