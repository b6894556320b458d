#!/bin/sh
# Who may do what (issue 24: 1, 4, 7, 10; docs/FARM.md "Roles"):
# - without CurveZMQ the coordinator listens on loopback only (--insecure
#   overrides, loudly);
# - under CurveZMQ workers and clients are roles with their own allow-lists:
#   a client key cannot serve jobs, a worker key cannot submit; refusals are
#   logged at the default level; a duplicate certificate does not abort;
# - a campaign is its submitter's: another client can neither cancel nor
#   export it, an admin can;
# - EXPORT writes under the export directory only, and the event loop goes
#   on while a bundle is written;
# - a key removed from the allow-list stops its worker.
. "$(dirname "$0")/testlib.sh"
FAULT="$TOP_BUILDDIR/tests/.libs/libsffault.so"
port=$((20000 + ($$ + 7907) % 20000))
WEP=tcp://127.0.0.1:$port CEP=tcp://127.0.0.1:$((port + 1))

# 1. no CurveZMQ: loopback only
expect_exit 2 "no CurveZMQ on every interface: refused" "$SPMMFARM" coordinator --store "$WORK/s0" \
    --workers tcp://0.0.0.0:$port --clients $CEP
expect_grep "refusing to listen on tcp://0.0.0.0:$port without CurveZMQ" "$WORK/err" "says why"
timeout -s TERM 1 "$SPMMFARM" coordinator --store "$WORK/s0" --workers tcp://0.0.0.0:$port --clients $CEP \
    --insecure >"$WORK/out" 2>"$WORK/err"
[ $? = 124 ] && pass "--insecure: it runs" || fail "--insecure did not run"
expect_grep "INSECURE: listening on tcp://0.0.0.0:$port" "$WORK/err" "--insecure is said at the default level"

# 2. roles: a worker key, two clients, an admin; a duplicate certificate
K="$WORK/keys"
for n in coordinator w alice bob root; do "$SPMMFARM" keygen "$K" --name $n >/dev/null; done
A="$WORK/allowed"
mkdir -p "$A/workers" "$A/clients" "$A/admins"
cp "$K/w.cert" "$A/workers/"
cp "$K/alice.cert" "$K/bob.cert" "$A/clients/"
cp "$K/alice.cert" "$A/clients/alice-again.cert"
cp "$K/root.cert" "$A/admins/"
SRV="--server-cert $K/coordinator.cert"
as () { who=$1; cmd=$2; shift 2; "$SPMMFARM" $cmd --coordinator $CEP --cert "$K/$who.cert" $SRV --timeout 3000 "$@"; }
LD_PRELOAD="$FAULT" SF_FAULT_TRIGGER="$WORK/slow" SF_FAULT_PATH=/manifest.json SF_FAULT_SLOW_MS=2500 \
    ASAN_OPTIONS=verify_asan_link_order=0 \
    "$SPMMFARM" coordinator --store "$WORK/s" --workers $WEP --clients $CEP --cert "$K/coordinator.cert" \
    --allowed "$A" --heartbeat-ms 200 2>"$WORK/coord.log" &
COORD=$!
sleep 0.7
kill -0 $COORD 2>/dev/null && pass "a duplicate certificate does not stop the coordinator" \
    || fail "the coordinator died (duplicate certificate)"
"$SPMMFARM" worker --connect $WEP --backend sim --cert "$K/w.cert" $SRV --compile-threads 2 \
    2>"$WORK/worker.log" &
WORKER=$!
"$SPMMFARM" worker --connect $WEP --backend sim --dry-run --cert "$K/alice.cert" $SRV 2>"$WORK/intruder.log" &
INTRUDER=$!
expect_exit 1 "a worker key is no client" as w status
"$SPMMFARM" gen --m 48 --k 32 --sparsity 0.8 --seed 2 -o "$WORK/a.mtx" >/dev/null 2>&1
"$SPMMFARM" gen --m 40 --k 32 --sparsity 0.8 --seed 3 -o "$WORK/b.mtx" >/dev/null 2>&1
expect_exit 0 "alice submits" as alice submit "$WORK/a.mtx" --n 32 --max-configs 2 --json
A1=$(json_get "$WORK/out" 'd["campaign"]')
expect_exit 0 "bob submits" as bob submit "$WORK/b.mtx" --n 32 --max-configs 2 --name bobs --json
B1=$(json_get "$WORK/out" 'd["campaign"]')
if wait_campaign $A1 60 --coordinator $CEP --cert "$K/alice.cert" $SRV && [ "$state" = done ]; then
    pass "the worker key serves alice's campaign"
else
    fail "alice's campaign: '$state'"; tail -20 "$WORK/coord.log" | sed 's/^/    /'; tail -5 "$WORK/worker.log"
fi
expect_grep "refused a CURVE peer .*lacks the role" "$WORK/coord.log" \
    "a client key on the workers port is refused, and logged at the default level"
as alice status --json >"$WORK/st.json" 2>/dev/null
[ "$(json_get "$WORK/st.json" 'len(d["workers"])')" = 1 ] && pass "only the worker key is a worker" \
    || fail "workers: $(cat "$WORK/st.json")"

# 3. ownership
expect_exit 1 "bob cannot export alice's campaign" as bob export $A1 -o bobs.bundle --allow-simulated
expect_grep "only that key or an admin key may export it" "$WORK/err" "says whose it is"
expect_exit 1 "bob cannot cancel alice's campaign" as bob cancel $A1
expect_exit 0 "the admin cancels bob's campaign" as root cancel $B1
# 4. exports stay in the export directory
expect_exit 1 "an absolute path outside the export directory is refused" as alice export $A1 \
    -o "$WORK/outside.bundle" --allow-simulated
expect_grep "not under the coordinator's export directory" "$WORK/err" "says where bundles go"
[ ! -e "$WORK/outside.bundle" ] && pass "nothing written outside" || fail "written outside"
expect_exit 2 "a path with .. is refused" as alice export $A1 -o "../up.bundle" --allow-simulated
# an export while the disk is slow (2.5 s per manifest write): the loop goes on
: >"$WORK/slow"
as alice export $A1 -o "mine/a.bundle" --allow-simulated --timeout 30000 >"$WORK/exp.out" 2>"$WORK/exp.err" &
EXPORT=$!
sleep 0.5
t0=$(date +%s%N)
expect_exit 0 "status answers during an export" as alice status --timeout 1000
t1=$(date +%s%N)
# (a blocked loop would take the 2 s left of the write; the ASan+UBSan build
# starts a client in up to a second on a loaded machine)
quick=1000; [ "${SF_SANITIZE_INNER:-}" = 1 ] && quick=1900
[ $(( (t1 - t0) / 1000000 )) -lt $quick ] && pass "within ${quick} ms" || fail "status took $(( (t1 - t0) / 1000000 )) ms"
wait $EXPORT && pass "alice exports her campaign" || fail "alice's export: $(cat "$WORK/exp.err")"
rm -f "$WORK/slow"
[ -f "$WORK/s/exports/mine/a.bundle/manifest.json" ] && pass "written under STORE/exports" \
    || fail "not under STORE/exports: $(cat "$WORK/exp.out")"
grep -q "lost" "$WORK/coord.log" && fail "a worker was lost during the export" || pass "no worker lost during the export"
expect_exit 0 "the bundle verifies with the coordinator store's key" "$SPMMFARM" bundle verify \
    "$WORK/s/exports/mine/a.bundle" --key "$WORK/s/bundle-signing.pub"

# 5. a duplicate certificate added while it runs, then the worker's key removed
cp "$K/bob.cert" "$A/clients/bob-again.cert"
sleep 1.2
expect_exit 0 "a duplicate added while it runs: still answering" as bob status
rm "$A/workers/w.cert"
for i in $(seq 1 50); do kill -0 $WORKER 2>/dev/null || break; sleep 0.1; done
kill -0 $WORKER 2>/dev/null && fail "the worker whose key was removed still runs" \
    || pass "the worker whose key was removed is told to stop"
expect_grep "lost its key's place in the allow-list" "$WORK/coord.log" "the coordinator says why"
kill $WORKER $INTRUDER 2>/dev/null; wait $WORKER $INTRUDER 2>/dev/null
kill $COORD; wait $COORD 2>/dev/null
finish
