#!/bin/sh
# The worker's timing memo through `spmmfarm local` (issue 22; sim backend,
# real compiles, real worker process): two layers of one shape share the
# dense timings (the second reuses the first's), a layer of another shape
# does not, and SPMMFARM_NO_TIMING_MEMO=1 times every layer. The worker says
# so at info level (SPMMFARM_LOG=info).
. "$(dirname "$0")/testlib.sh"

"$SPMMFARM" gen --m 96 --k 64 --sparsity 0.9 --seed 3 -o "$WORK/a.mtx" >/dev/null
"$SPMMFARM" gen --m 96 --k 64 --sparsity 0.8 --seed 4 -o "$WORK/b.mtx" >/dev/null
"$SPMMFARM" gen --m 64 --k 96 --sparsity 0.9 --seed 5 -o "$WORK/c.mtx" >/dev/null

SPMMFARM_LOG=info; export SPMMFARM_LOG
expect_exit 0 "local: two layers of one shape, one of another" "$SPMMFARM" local "$WORK/a.mtx" "$WORK/b.mtx" \
    "$WORK/c.mtx" --n 64 --store "$WORK/s1" --max-configs 2 --workers 1 -q
cp "$WORK/err" "$WORK/memo.err"
n=$(grep -c "search: [0-9]* dense timings reused from the timing memo" "$WORK/memo.err")
[ "$n" -eq 1 ] && pass "one of the three layers reused dense timings (the second of the shape)" \
    || fail "layers that reused dense timings: $n, wanted 1"
expect_grep "search: timing memo: SGEMM [0-9.]+ us reused from an earlier layer of 96x64, N 64, fp32 \\(SIMULATED" \
    "$WORK/memo.err" "SGEMM's timing reused, labelled simulated"
expect_grep "dense: timing memo: .* reused from an earlier layer of 96x64, N 64, fp32" "$WORK/memo.err" \
    "our dense kernels' timings reused"
if grep -q "reused from an earlier layer of 64x96" "$WORK/memo.err"; then
    fail "the other shape reused a timing"; else pass "the other shape reused nothing"; fi

SPMMFARM_NO_TIMING_MEMO=1 expect_exit 0 "local with SPMMFARM_NO_TIMING_MEMO=1" "$SPMMFARM" local "$WORK/a.mtx" \
    "$WORK/b.mtx" --n 64 --store "$WORK/s2" --max-configs 2 --workers 1 -q
expect_grep "timing memo off \\(SPMMFARM_NO_TIMING_MEMO\\)" "$WORK/err" "the worker says the memo is off"
if grep -q "reused from" "$WORK/err"; then fail "a timing was reused with the memo off"; else
    pass "every layer timed with the memo off"; fi

# tune-local --json carries the count (one layer per farm: nothing to reuse)
unset SPMMFARM_LOG
expect_exit 0 "tune-local --json" "$SPMMFARM" tune-local "$WORK/a.mtx" --n 64 --max-configs 2 --json
expect_grep '"timings_reused":[[:space:]]*0' "$WORK/out" "tune-local --json: timings_reused"

finish
