#!/bin/sh
# make check again, built with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (docs/RELIABILITY.md): any out-of-bounds
# access, use after free, or undefined behaviour (memcmp (NULL, .., 0),
# qsort (NULL, 0), a signed overflow...) in the code the tests reach fails
# the test that reached it. The build is ./sanitize/ (kept between runs).
. "$(dirname "$0")/testlib.sh"
. "$TOP_SRCDIR/tests/sanitize_build.sh"
san_build && pass "the sanitizer build" || { fail "the sanitizer build"; finish; }
cd "$SAN/src" || exit 1
t0=$(date +%s)
SF_SANITIZE_INNER=1 san_make -j"$(nproc)" check >"$WORK/check.log" 2>&1
rc=$?
echo "# make check under ASan+UBSan: $(( $(date +%s) - t0 )) s"
grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP):' "$WORK/check.log" | while read -r result name; do
    echo "$result $name"
done
SAN_REPORT='ERROR: (Address|Undefined|Leak)Sanitizer|runtime error:|SUMMARY: (Address|Undefined)'
if [ $rc = 0 ]; then
    pass "make check under ASan and UBSan: $(grep -c '^PASS:' "$WORK/check.log") tests passed"
else
    # A test that failed with a sanitizer's report fails this one. A test
    # that failed without one (the plain suite passed it: a deadline or a
    # race with a slower, instrumented process) runs once more, alone; it
    # fails this one only if it fails again. Its first log is printed
    # either way, so that a timing-sensitive test is seen and mended.
    grep -Eq '^(FAIL|ERROR):' "$WORK/check.log" || { fail "make check under ASan and UBSan: exit $rc"; tail -20 "$WORK/check.log"; }
    for log in $(grep -E '^(FAIL|ERROR):' "$WORK/check.log" | awk '{print $2}'); do
        echo "---- $log.log (the run with the others)"
        grep -E -B2 -A20 "$SAN_REPORT|FAIL" "$SAN/src/$log.log" 2>/dev/null | head -60
        if grep -Eq "$SAN_REPORT" "$SAN/src/$log.log" 2>/dev/null; then
            fail "$log under ASan and UBSan: a sanitizer's report"
            continue
        fi
        SF_SANITIZE_INNER=1 san_make check TESTS="$log" >"$WORK/again.log" 2>&1
        if [ $? = 0 ]; then
            pass "$log under ASan and UBSan: failed once without a sanitizer's report, passed alone (timing; the log above)"
        else
            fail "$log under ASan and UBSan: failed twice"
            grep -E -B2 -A20 "$SAN_REPORT|FAIL" "$SAN/src/$log.log" 2>/dev/null | head -60
        fi
    done
fi
finish
