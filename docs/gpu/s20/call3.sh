#!/bin/sh
# Session 20: issue 22's BERT-base campaign (fp32, 72 layers at 90 %, N = 4096,
# local's defaults, fresh store, CUDA_CACHE_DISABLE=1, empty compile cache),
# cut by the call's limit; MODE=bert-more carries it on in the next call on
# the same warm machine, then MODE=bert-warm (SF_SCALE_TIME each).
P=${P:-$PWD/.devpack-s20}
T0=$(date +%s)
cp $P/COMMIT $OUT/COMMIT.txt; nvidia-smi --query-gpu=name,driver_version --format=csv >> $OUT/COMMIT.txt
for m in ${MODE:-bert}; do
    SF_DEVPACK=$P SF_SCALE_TIME=${SF_SCALE_TIME:-530} tests/gpu/model-scale.sh $m 2>&1 | tail -30
    echo "$m $(( $(date +%s) - T0 )) s" >> $OUT/COMMIT.txt
done
echo "total $(( $(date +%s) - T0 )) s" >> $OUT/COMMIT.txt
