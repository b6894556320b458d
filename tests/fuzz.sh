#!/bin/sh
# The libFuzzer harnesses (tests/fuzz/fuzz_*.c, docs/RELIABILITY.md): the
# wire decoder, the store's records, the bundle manifest and its signature,
# and the four matrix readers, each run for SF_FUZZ_SECONDS (default 60)
# from its seed corpus in tests/fuzz/, built with ASan and UBSan in
# ./sanitize/. A finding fails the test and is kept in ./fuzz-findings/.
# SF_FUZZ_RUNS=N runs each for N executions instead (the long run by hand);
# SF_FUZZ_ONLY="proto npy" picks harnesses; SF_FUZZ_KEEP=DIR keeps the logs.
. "$(dirname "$0")/testlib.sh"
. "$TOP_SRCDIR/tests/sanitize_build.sh"
SECONDS_EACH=${SF_FUZZ_SECONDS:-60}
san_build && pass "the sanitizer build" || { fail "the sanitizer build"; finish; }
exec 9>"$SAN.lock"
flock 9
(cd "$SAN/src" && san_make -j"$(nproc)" fuzzers >>"$SAN/build.log" 2>&1) \
    && pass "the fuzzers build" || { fail "the fuzzers build"; tail -20 "$SAN/build.log"; finish; }
flock -u 9
FINDINGS="$TOP_BUILDDIR/fuzz-findings"
# the matrix and manifest harnesses write each input to a file: on a tmpfs
# (/dev/shm) they run some 30 times faster than on a loaded disk
SCRATCH=$(mktemp -d /dev/shm/spmmfarm-fuzz.XXXXXX 2>/dev/null) || SCRATCH="$WORK"
trap 'rm -rf "$WORK" "$SCRATCH"' EXIT
for h in ${SF_FUZZ_ONLY:-proto record manifest smtx mtx npy safetensors}; do
    corpus="$WORK/corpus-$h"
    mkdir -p "$corpus"
    limit="-max_total_time=$SECONDS_EACH"
    [ -n "${SF_FUZZ_RUNS:-}" ] && limit="-runs=$SF_FUZZ_RUNS"
    TMPDIR="$SCRATCH" "$SAN/src/tests/fuzz/fuzz_$h" "$corpus" "$TOP_SRCDIR/tests/fuzz/$h" $limit -timeout=10 \
        -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$WORK/$h-" \
        >"$WORK/$h.log" 2>&1
    rc=$?
    [ -n "${SF_FUZZ_KEEP:-}" ] && mkdir -p "$SF_FUZZ_KEEP" && cp "$WORK/$h.log" "$SF_FUZZ_KEEP/fuzz_$h.log"
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$h.log")
    secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$WORK/$h.log")
    if [ $rc = 0 ]; then
        pass "fuzz_$h: ${runs:-?} executions in ${secs:-?} s, no finding"
    else
        fail "fuzz_$h: a finding (exit $rc)"
        mkdir -p "$FINDINGS" && cp "$WORK/$h-"* "$FINDINGS/" 2>/dev/null
        grep -E -A15 'ERROR: |runtime error|deadly signal' "$WORK/$h.log" | head -40
        echo "    the input is kept in $FINDINGS"
    fi
done
finish
