#!/bin/sh
# The README's first run, examples/bert-local.sh, on one layer (q, 512 x 512
# at 98 %) with a small search: its output must tell a first-time user what
# was tuned (real DLMC weights, or the fallback said plainly), against which
# baselines and how well (simulated, labelled), where the bundle and the
# store are, and how long a real model takes; a rerun is answered from the
# store. With the project's DLMC data (../shared/data) the real weights are
# tuned; without it (always checked too) the announced fallback.
. "$(dirname "$0")/testlib.sh"

# run_example NAME DLMC_DIR: the script into $WORK/NAME.out/.err
run_example () {
    expect_exit 0 "bert-local.sh ($1)" env SPMMFARM="$SPMMFARM" DLMC_DIR="$2" LAYERS=q \
        SEARCH="--max-configs 2 --proxy-top 1" WORKDIR="$WORK/$1" BUNDLE="$WORK/$1.bundle" \
        sh "$TOP_SRCDIR/examples/bert-local.sh" --store "$WORK/$1.store"
    cp "$WORK/out" "$WORK/$1.out"; cp "$WORK/err" "$WORK/$1.err"
}

# check_output NAME: the lines a first-time user needs.
check_output () {
    o="$WORK/$1.out"
    expect_grep "^bert-local: layers: q \\(q, k, v, o: 512 x 512; .*\\), N = 512 tokens" "$o" "$1: what is tuned"
    expect_grep "^bert-local: no GPU: the sim backend .*SIMULATED" "$o" "$1: no GPU, said"
    expect_grep "^bert-local: no GPU: a smaller search .*--max-configs 2 --proxy-top 1" "$o" "$1: the smaller search, announced"
    expect_grep "^layer +M x K +N +winner +time +SGEMM +TF32 +cuSPARSE +xSGEMM +xTF32 +rel err" "$o" "$1: the baselines"
    expect_grep "^q +512 x 512 +512 " "$o" "$1: the layer's row"
    expect_grep "^times in us, SIMULATED" "$o" "$1: simulated times labelled"
    expect_grep "^geomean speedup: [0-9.]+x over SGEMM, [0-9.]+x over TF32, [0-9.]+x over cuSPARSE .*\\(SIMULATED\\)" "$o" "$1: how good, against what"
    expect_grep "^winners:" "$o" "$1: the winner in words"
    expect_grep "^wrote $WORK/$1.bundle: 1 layer " "$o" "$1: where the bundle is"
    expect_grep "^store: $WORK/$1.store " "$o" "$1: where the store is"
    expect_grep "^bert-local: done in [0-9]+ s on this machine" "$o" "$1: how long it took"
    expect_grep "^bert-local: +with this search here: about [0-9]+ s per encoder layer, [0-9]+ min for the six encoders" "$o" "$1: how long a real model takes"
    expect_grep "^bert-local: +measured on an H100 host" "$o" "$1: ... and on a GPU host"
    expect_grep "^spmmfarm local: coordinator for clients at tcp://" "$WORK/$1.err" "$1: the endpoint to watch"
}

if [ -d "$SHARED_DATA/dlmc/transformer" ]; then
    run_example real "$SHARED_DATA/dlmc"
    check_output real
    expect_grep "^bert-local: tuning encoder layer 0 of a Transformer-base pruned to 0.98 \\(real weights: DLMC" "$WORK/real.out" "real: real weights, said"
    expect_grep "^bert-local: weights: $SHARED_DATA/dlmc/transformer/magnitude_pruning/0.98" "$WORK/real.out" "real: where they come from"
else
    echo "note: no DLMC data at $SHARED_DATA: the real-weights run is skipped (the fallback is checked)"
fi

run_example fallback "$WORK/no-dlmc"
check_output fallback
expect_grep "^bert-local: NOTE: no DLMC data at $WORK/no-dlmc/transformer/magnitude_pruning/0.98" "$WORK/fallback.out" "fallback: says the data is missing"
expect_grep "^bert-local: NOTE: tuning uniformly random matrices .* NOT real weights" "$WORK/fallback.out" "fallback: says what it tunes instead"

# Again: answered from the store, and said so.
run_example fallback "$WORK/no-dlmc"
expect_grep "every layer answered from the store" "$WORK/fallback.out" "rerun: answered from the store"
expect_grep "^bert-local: +this run searched nothing" "$WORK/fallback.out" "rerun: no extrapolation from a search that did not run"

expect_exit 2 "a sparsity DLMC does not have" env SPARSITY=0.6 SPMMFARM=$SPMMFARM sh "$TOP_SRCDIR/examples/bert-local.sh"
expect_grep "DLMC has 0.5, 0.7" "$WORK/err" "... says which it has"
finish
