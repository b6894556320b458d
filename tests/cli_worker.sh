#!/bin/sh
# spmmfarm worker's command line: help, bad flags and bad settings exit 2,
# a configuration file gives defaults, the sim backend is announced, and a
# worker with no coordinator keeps trying until SIGTERM (BYE, exit 0).
# The conversation itself is tested in check_worker.
. "$(dirname "$0")/testlib.sh"

expect_exit 0 "worker --help" "$SPMMFARM" worker --help
expect_grep "^usage: spmmfarm worker --connect EP" "$WORK/out" "worker --help shows usage"
expect_grep "dry-run" "$WORK/out" "worker --help lists --dry-run"
expect_exit 0 "help worker" "$SPMMFARM" help worker
expect_exit 0 "help lists worker" "$SPMMFARM" help
expect_grep "^  worker " "$WORK/out" "worker is in the command list"

expect_exit 2 "an unknown option" "$SPMMFARM" worker --frob
expect_exit 2 "a stray argument" "$SPMMFARM" worker extra
expect_exit 2 "a bad backend" "$SPMMFARM" worker --backend opencl
expect_grep "auto, cuda or sim" "$WORK/err" "the bad backend is explained"
expect_exit 2 "a bad GPU ordinal" "$SPMMFARM" worker --gpu -1
expect_exit 2 "capacity 0" "$SPMMFARM" worker --capacity 0
expect_exit 2 "capacity above 1024" "$SPMMFARM" worker --capacity 1025
expect_exit 2 "--max-jobs 0" "$SPMMFARM" worker --max-jobs 0
expect_exit 2 "a bad thread count" "$SPMMFARM" worker --compile-threads many
expect_exit 2 "--cert without --server-cert" "$SPMMFARM" worker --cert "$WORK/w.cert"
expect_exit 2 "--curve-dir with --cert" "$SPMMFARM" worker --curve-dir "$WORK" --cert "$WORK/w.cert"
expect_exit 2 "a missing configuration" "$SPMMFARM" worker --config "$WORK/none.conf"
expect_exit 2 "a missing certificate" "$SPMMFARM" worker --backend sim --curve-dir "$WORK/nocerts"
expect_exit 2 "a malformed endpoint" "$SPMMFARM" worker --backend sim --connect nonsense
expect_grep "cannot connect to 'nonsense'" "$WORK/err" "the endpoint is named"

# The file's worker section gives defaults; a bad value there is bad input.
cat >"$WORK/farm.conf" <<'CONF'
worker
    connect = nonsense-from-the-file
    capacity = 3
CONF
expect_exit 2 "the file's endpoint is used" "$SPMMFARM" worker --backend sim --config "$WORK/farm.conf"
expect_grep "nonsense-from-the-file" "$WORK/err" "... and named"
printf 'worker\n    capacity = lots\n' >"$WORK/bad.conf"
expect_exit 2 "a bad value in the file" "$SPMMFARM" worker --config "$WORK/bad.conf"
expect_exit 2 "the example configuration, a flag wins" \
    "$SPMMFARM" worker --config "$TOP_SRCDIR/conf/farm.conf" --backend sim --connect nonsense

# Without a GPU driver, auto picks the sim backend and says so; with no
# coordinator listening the worker keeps trying; SIGTERM ends it with 0.
SPMMFARM_LIBCUDA=/nonexistent/libcuda.so.1 "$SPMMFARM" worker --connect tcp://127.0.0.1:9 \
    >"$WORK/out" 2>"$WORK/err" &
pid=$!
sleep 1
kill -TERM $pid
wait $pid
rc=$?
[ "$rc" -eq 0 ] && pass "SIGTERM: exit 0" || fail "SIGTERM: exit $rc"
expect_grep "using the sim backend" "$WORK/err" "auto without a GPU: the sim backend is announced"
expect_grep "SIMULATED" "$WORK/err" "and its times are called simulated"
expect_grep ":gpu0:$pid" "$WORK/err" "the worker id is HOST:gpu0:PID"
expect_exit 1 "--backend cuda without a GPU is a runtime failure" \
    env SPMMFARM_LIBCUDA=/nonexistent/libcuda.so.1 "$SPMMFARM" worker --backend cuda
finish
