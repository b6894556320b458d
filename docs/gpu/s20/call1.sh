#!/bin/sh
# Session 20, calls 1 and 2: BERT-base bf16 at 90 % end to end (issue 23), nk
# layout, read flush, --sparse-compile. Its tuning (73 layers at N = 4096)
# may not fit one call: call 1 tunes until 110 s before its deadline (the store under
# /tmp/spmmfarm-e2e stays on the warm machine), call 2 (the same script,
# TAG=b) answers the layers done from the store,
# tunes the rest and times the models.
P=${P:-$PWD/.devpack-s20}
TAG=${TAG:-a}
T0=$(date +%s)
cp $P/COMMIT $OUT/COMMIT.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/COMMIT.txt
D=/tmp/e2e-s20$TAG
mkdir -p $D
OUT=$D PACK=$P ONLY="${ONLY:-bert:bf16:0.9}" DEADLINE=${DEADLINE:-540} sh tests/bench/e2e-run.sh session \
    --sparse-compile --estimate bert:bf16=30 --tune-reserve ${RESERVE:-110} 2>&1 | tail -40
ls -la /tmp/spmmfarm-e2e/bert-bf16-0.9/ > $D/work-ls.txt 2>&1
# the layers done and when (recorded_ms), whatever the cut
LD_LIBRARY_PATH=$P/lib $P/bin/spmmfarm store dump /tmp/spmmfarm-e2e/store --db best --json > $D/best.jsonl 2>&1
LD_LIBRARY_PATH=$P/lib $P/bin/spmmfarm store dump /tmp/spmmfarm-e2e/store --db campaigns --json > $D/campaigns.jsonl 2>&1
echo "layers in the store: $(grep -c '"db":"best"' $D/best.jsonl)"
tar czf $OUT/e2e-s20$TAG.tar.gz -C /tmp e2e-s20$TAG
echo "total $(( $(date +%s) - T0 )) s" >> $OUT/COMMIT.txt
