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
if [ $rc = 0 ]; then
    pass "make check under ASan and UBSan: $(grep -c '^PASS:' "$WORK/check.log") tests passed"
else
    fail "make check under ASan and UBSan"
    for log in $(grep -E '^(FAIL|ERROR):' "$WORK/check.log" | awk '{print $2}'); do
        echo "---- $log.log"; grep -E -B2 -A20 'ERROR: (Address|Undefined|Leak)Sanitizer|runtime error|FAIL' \
            "$SAN/src/$log.log" 2>/dev/null | head -60
    done
fi
finish
