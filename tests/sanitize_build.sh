# tests/sanitize_build.sh: sourced by sanitize.sh and fuzz.sh (after
# testlib.sh). san_build makes (or brings up to date) a second build of the
# tree with clang, AddressSanitizer and UndefinedBehaviorSanitizer, and the
# coverage instrumentation libFuzzer needs, in $SAN (TOP_BUILDDIR/sanitize),
# under a lock: the two scripts may run at once (make check -j).
SAN="$TOP_BUILDDIR/sanitize"
SAN_CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined"
# -Wno-error: the gcc build is the -Werror gate; clang's own warnings (in build.log)
# must not stop the sanitizer run.
SAN_CFLAGS="$SAN_CFLAGS -fsanitize=fuzzer-no-link -Wno-for-loop-analysis -Wno-error"
SAN_LDFLAGS="-fsanitize=address,undefined"
# LeakSanitizer: off (ZeroMQ's and CZMQ's process-lifetime allocations are
# reported as leaks; leaks are not what this run looks for).
SAN_ASAN="detect_leaks=0:abort_on_error=0:allocator_may_return_null=1:verify_asan_link_order=0"
SAN_UBSAN="print_stacktrace=1:halt_on_error=1"

skip () { echo "SKIP: $1"; exit 77; }
# make for the inner tree, without what the outer make check passes down
# (its MAKEFLAGS carry TEST_LOGS: the inner make would run the outer's tests)
san_make () { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u TESTS -u TEST_LOGS make "$@"; }

san_build () {
    [ "${SF_SANITIZE_INNER:-}" = 1 ] && skip "inside the sanitizer build itself"
    command -v clang >/dev/null 2>&1 || skip "no clang: the sanitizer build and the fuzzers need Debian's clang and libclang-rt-dev (./quickstart installs them)"
    printf 'int LLVMFuzzerTestOneInput (const char *d, unsigned long n) { return (int) (n && d[0] == 7); }\n' \
        >"$WORK/probe.c"
    clang -fsanitize=fuzzer,address,undefined "$WORK/probe.c" -o "$WORK/probe" >"$WORK/probe.log" 2>&1 \
        || skip "clang cannot build a fuzzer (no libclang-rt-dev?): $(head -1 "$WORK/probe.log")"
    command -v git >/dev/null 2>&1 && git -C "$TOP_SRCDIR" rev-parse --git-dir >/dev/null 2>&1 \
        || skip "not a git checkout: the sanitizer build copies the files git lists"
    mkdir -p "$SAN/src"
    exec 9>"$SAN.lock"
    flock 9
    # the tree as it is now (tar keeps times, so make rebuilds what changed);
    # files gone from the tree since the last copy are removed from it (a
    # stale header there would still be found by #include)
    (cd "$TOP_SRCDIR" && git ls-files -co --exclude-standard | grep -v '^sanitize/' | sort) >"$SAN/files.new"
    if [ -f "$SAN/files" ]; then
        comm -23 "$SAN/files" "$SAN/files.new" | (cd "$SAN/src" && xargs -r rm -f --)
    fi
    (cd "$TOP_SRCDIR" && tar -cf - -T "$SAN/files.new") | tar -xf - -C "$SAN/src" || { flock -u 9; return 1; }
    mv "$SAN/files.new" "$SAN/files"
    (
        cd "$SAN/src" || exit 1
        # configured again when the flags above change (kept in $SAN/flags)
        if [ ! -f config.status ] || [ "$(cat "$SAN/flags" 2>/dev/null)" != "$SAN_CFLAGS $SAN_LDFLAGS" ]; then
            rm -f "$SAN/flags"
            autoreconf -fi >"$SAN/build.log" 2>&1 &&
                ./configure -q --with-cuda="${CUDA_HOME:-/usr/local/cuda}" CC=clang CFLAGS="$SAN_CFLAGS" \
                    LDFLAGS="$SAN_LDFLAGS" >>"$SAN/build.log" 2>&1 || exit 1
            san_make clean >/dev/null 2>&1
            echo "$SAN_CFLAGS $SAN_LDFLAGS" >"$SAN/flags"
        fi
        san_make -j"$(nproc)" >>"$SAN/build.log" 2>&1 && san_make -j"$(nproc)" check TESTS= >>"$SAN/build.log" 2>&1
    )
    rc=$?
    flock -u 9
    [ $rc = 0 ] || { tail -20 "$SAN/build.log" | sed 's/^/    /'; return 1; }
    export ASAN_OPTIONS="$SAN_ASAN" UBSAN_OPTIONS="$SAN_UBSAN"
}
