#!/bin/sh
# Session 20: template T's encoding e2 against e1 on the H100 (the tdec
# branch's tc_bench, .devpack-s20e2: verify, the probe side by side, ncu
# stalls), then the LLaMA-shaped decode bf16 at 70 % end to end (session 19's
# call was cut before it), with the binaries of .devpack-s20.
T0=$(date +%s)
P=$PWD/.devpack-s20
cp $P/COMMIT $OUT/COMMIT.txt; cat .devpack-s20e2/COMMIT >> $OUT/COMMIT.txt
nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/COMMIT.txt
mkdir -p /tmp/tc-e2
OUT=/tmp/tc-e2 timeout 170 .devpack-s20e2/tc-bench.sh e2 2>&1 | tail -40
tar czf $OUT/tc-e2.tar.gz -C /tmp tc-e2
echo "tc-bench e2 $(( $(date +%s) - T0 )) s" | tee -a $OUT/COMMIT.txt
mkdir -p /tmp/e2e-s20l
left=$(( ${BUDGET:-550} - ($(date +%s) - T0) - 35 ))
OUT=/tmp/e2e-s20l PACK=$P ONLY="${ONLY:-llama:bf16:0.7}" DEADLINE=$left sh tests/bench/e2e-run.sh session \
    --sparse-compile 2>&1 | tail -30
tar czf $OUT/e2e-s20l.tar.gz -C /tmp e2e-s20l
echo "total $(( $(date +%s) - T0 )) s" | tee -a $OUT/COMMIT.txt
