#!/bin/sh
# Session 19, call 1: check-gpu part 3 (the runtime's upload fix; closes issue 18),
# template T's probe (tc-bench.sh probe), then the LLaMA decode e2e rows (ONLY) with
# the read flush and --sparse-compile until the call's deadline.
P=$PWD/.devpack-s19
T0=$(date +%s)
cp $P/COMMIT $OUT/COMMIT.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/COMMIT.txt
( export LD_LIBRARY_PATH="$P/lib:/usr/local/cuda/lib64" SF_TOP_SRCDIR=$PWD SF_TOP_BUILDDIR=$PWD \
    SF_SHARED_DATA=$P/data SPMMFARM=$P/bin/spmmfarm TCDENSE=$P/bin/tcdense SPMMFARM_RT_LIB=$P/bin/libspmmfarm-rt.so.0 SF_CHECK_PART=3
  t=$(date +%s); timeout 150 sh tests/gpu/check-gpu.sh > $OUT/check-gpu-part3.log 2>&1
  echo "check-gpu part 3 rc=$? $(( $(date +%s) - t )) s" >> $OUT/COMMIT.txt )
tail -1 $OUT/COMMIT.txt; grep -E '^(FAIL|[0-9]+ passed)' $OUT/check-gpu-part3.log
mkdir -p /tmp/probe; t=$(date +%s)
OUT=/tmp/probe sh $P/tc-bench.sh probe
echo "probe $(( $(date +%s) - t )) s" >> $OUT/COMMIT.txt
tar czf $OUT/probe.tar.gz -C /tmp probe; grep -B2 -A20 "^M x K" /tmp/probe/probe.log | head -40
left=$(( 530 - ($(date +%s) - T0) ))
echo "e2e deadline $((left - 40)) s" >> $OUT/COMMIT.txt
mkdir -p /tmp/e2e-s19
OUT=/tmp/e2e-s19 PACK=$P ONLY="${ONLY:-llama:bf16:0.9 llama:bf16:0.7}" DEADLINE=$((left - 40)) sh tests/bench/e2e-run.sh session --sparse-compile 2>&1 | tail -40
tar czf $OUT/e2e-s19.tar.gz -C /tmp e2e-s19
echo "total $(( $(date +%s) - T0 )) s" >> $OUT/COMMIT.txt
