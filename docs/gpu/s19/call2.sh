#!/bin/sh
# Session 19, call 2: BERT-base bf16 at 90 % end to end (issue 23; never measured
# before), nk layout, read flush, --sparse-compile, until the call's deadline.
P=$PWD/.devpack-s19
T0=$(date +%s)
cp $P/COMMIT $OUT/COMMIT.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/COMMIT.txt
mkdir -p /tmp/e2e-s19b
OUT=/tmp/e2e-s19b PACK=$P ONLY="${ONLY:-bert:bf16:0.9}" DEADLINE=${DEADLINE:-480} sh tests/bench/e2e-run.sh session --sparse-compile 2>&1 | tail -40
tar czf $OUT/e2e-s19b.tar.gz -C /tmp e2e-s19b
echo "total $(( $(date +%s) - T0 )) s" >> $OUT/COMMIT.txt
