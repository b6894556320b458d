#!/bin/sh
# A damaged store and a full disk (docs/RELIABILITY.md):
# 1. a truncated, an emptied, a deleted data.mdb and random bit flips: every
#    tool (store stat/dump/verify, export, the coordinator) gives a clear
#    error and an exit status, never a signal;
# 2. a full disk under a running coordinator (tests/libsffault.so makes the
#    store's writes fail while a trigger file exists): it is named "disk
#    full", a SUBMIT refused meanwhile loses none of the results waiting to
#    be written, and the campaign ends with every result in the store.
. "$(dirname "$0")/testlib.sh"
FIXTURE="$TOP_BUILDDIR/tests/check_store"
FAULT="$TOP_BUILDDIR/tests/.libs/libsffault.so"

# tool NAME STORE: runs one tool on a store; $WORK/rc gets its exit status
tool () {
    case $1 in
    stat|dump|verify) "$SPMMFARM" store $1 "$2" ;;
    export) "$SPMMFARM" export 1 --store "$2" -o "$WORK/x.bundle" --force ;;
    coordinator) timeout -s TERM 2 "$SPMMFARM" coordinator --store "$2" --workers tcp://127.0.0.1:0 \
        --clients tcp://127.0.0.1:0 --log error ;;
    esac >"$WORK/out" 2>"$WORK/err"
    echo $? >"$WORK/rc"
}
# every tool on STORE: no signal (exit >= 128 but not timeout's 124), and
# with a PATTERN, each one's stderr matches it
every_tool () {  # WHAT STORE [PATTERN]
    for t in stat dump verify export coordinator; do
        tool $t "$2"
        rc=$(cat "$WORK/rc")
        if [ "$rc" -ge 128 ]; then fail "$1: $t died on a signal (exit $rc)"; sed 's/^/    /' "$WORK/err" | head -3
        elif [ -n "${3:-}" ] && ! grep -Eq -- "$3" "$WORK/err"; then
            fail "$1: $t: no '$3' in its error (exit $rc)"; sed 's/^/    /' "$WORK/err" | head -3
        else pass "$1: $t exits $rc"; fi
    done
}

"$FIXTURE" --bulk "$WORK/base" 600 >/dev/null || fail "fixture --bulk"
expect_exit 0 "the intact store verifies" "$SPMMFARM" store verify "$WORK/base"
size=$(wc -c <"$WORK/base/data.mdb")

cp -r "$WORK/base" "$WORK/t"
truncate -s $((size / 2)) "$WORK/t/data.mdb"
every_tool "truncated data.mdb" "$WORK/t" "damaged: data.mdb is truncated"
cp -r "$WORK/base" "$WORK/z"
: >"$WORK/z/data.mdb"
every_tool "empty data.mdb" "$WORK/z" "damaged: data.mdb is empty"
cp -r "$WORK/base" "$WORK/d"
rm "$WORK/d/data.mdb"
every_tool "deleted data.mdb" "$WORK/d" "damaged: data.mdb is missing"
[ ! -e "$WORK/d/data.mdb" ] && pass "the coordinator did not start an empty store in its place" \
    || fail "a new empty data.mdb was made"
cp -r "$WORK/base" "$WORK/m"
printf 'XXXX' | dd of="$WORK/m/data.mdb" bs=1 seek=16 conv=notrunc 2>/dev/null
every_tool "meta page 0 overwritten" "$WORK/m" "damaged: data.mdb meta page 0"

# bit flips: in page headers and anywhere, 1 to 16 per copy (seeded)
python3 - "$WORK" <<'PY'
import os, random, shutil, sys
w = sys.argv[1]
random.seed(24)
data = open(w + "/base/data.mdb", "rb").read()
pages = len(data) // 4096
for t in range(12):
    d = bytearray(data)
    for _ in range(random.choice([1, 4, 16])):
        p = random.randrange(2, pages)
        d[p * 4096 + random.randrange(0, 64 if t % 2 else 4096)] ^= 1 << random.randrange(8)
    os.makedirs("%s/f%d" % (w, t))
    open("%s/f%d/data.mdb" % (w, t), "wb").write(d)
    shutil.copy(w + "/base/lock.mdb", "%s/f%d/" % (w, t))
PY
for t in $(seq 0 11); do every_tool "bit flips $t" "$WORK/f$t"; done

# two pages made inconsistent on purpose (the fixture's page 4 is a leaf
# of 'matrices' on 4 KiB pages): LMDB follows the first to a wild address
# and asserts on the second; verify reports where it crashed, the other
# tools stop with a message
if [ "$(getconf PAGESIZE)" = 4096 ]; then
    for case in "12 f00f" "10 0100"; do
        set -- $case
        rm -rf "$WORK/p"; mkdir "$WORK/p"; cp "$WORK/base/data.mdb" "$WORK/base/lock.mdb" "$WORK/p/"
        python3 -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(4 * 4096 + int(sys.argv[2])); f.write(bytes.fromhex(sys.argv[3]))' \
            "$WORK/p/data.mdb" $1 $2
        expect_exit 2 "page 4 byte $1 = $2: verify says the store is damaged" "$SPMMFARM" store verify "$WORK/p"
        expect_grep "crashed LMDB \((SIGSEGV|SIGBUS|SIGABRT)" "$WORK/err" "verify names the crash"
        every_tool "page 4 byte $1 = $2" "$WORK/p"
    done
    tool dump "$WORK/p"
    expect_grep "damaged: LMDB found an inconsistent page" "$WORK/err" "an LMDB assertion is a damaged store"
fi

# a store truncated while a reader has it open: SIGBUS in the mapping is
# reported as a damaged store
cp -r "$WORK/base" "$WORK/r"
python3 - "$SPMMFARM" "$WORK/r" >"$WORK/out" 2>"$WORK/err" <<'PY'
import subprocess, sys, time
p = subprocess.Popen([sys.argv[1], "store", "dump", sys.argv[2]], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
p.stdout.read(4096)                    # it has opened the store and is writing lines
import os
os.truncate(sys.argv[2] + "/data.mdb", 3 * 4096)
out, err = p.communicate()
sys.stderr.write(err.decode())
sys.exit(p.returncode if p.returncode >= 0 else 128 - p.returncode)
PY
rc=$?
[ $rc -lt 128 ] && pass "a store cut short under a reader: exit $rc, no signal" || fail "cut short under a reader: exit $rc"

# 2. a full disk under a running coordinator
port=$((20000 + ($$ + 7919) % 20000))
WEP=tcp://127.0.0.1:$port CEP=tcp://127.0.0.1:$((port + 1))
C="--coordinator $CEP"
"$SPMMFARM" gen --m 96 --k 80 --sparsity 0.8 --seed 3 -o "$WORK/a.mtx" >/dev/null 2>&1
python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
json.dump({"name": "full", "layers": [{"name": "l%d" % i, "file": "a.mtx", "n": 64 + i} for i in range(12)]},
          open(w + "/model.json", "w"))
PY
run_full () {  # MODE: enospc or short
    rm -rf "$WORK/fs" "$WORK/full"
    LD_PRELOAD="$FAULT" SF_FAULT_TRIGGER="$WORK/full" SF_FAULT_MODE=$1 ASAN_OPTIONS=verify_asan_link_order=0 \
        "$SPMMFARM" coordinator --store "$WORK/fs" --workers $WEP --clients $CEP --heartbeat-ms 200 \
        --log warn 2>"$WORK/coord.log" &
    COORD=$!
    sleep 0.5
    SPMMFARM_DRY_RUN_MS=60 "$SPMMFARM" worker --connect $WEP --backend sim --dry-run 2>>"$WORK/workers.log" &
    WORKER=$!
    expect_exit 0 "$1: submit" "$SPMMFARM" submit --model "$WORK/model.json" --strategy sweep \
        --gpu-type sim/h100-model/132sm --max-configs 32 --json $C
    id=$(json_get "$WORK/out" 'd["campaign"]')
    sleep 0.4
    : >"$WORK/full"                       # the disk is full from now on
    sleep 0.8                             # results come in; their commits fail
    expect_exit 1 "$1: a SUBMIT while the disk is full is refused" "$SPMMFARM" submit "$WORK/a.mtx" --n 7 \
        --strategy proxy $C
    expect_grep "disk full" "$WORK/err" "$1: the refusal says disk full"
    sleep 0.3
    rm -f "$WORK/full"                    # room again
    wait_campaign $id 30 $C --timeout 1000
    [ "$state" = done ] && pass "$1: the campaign ends once there is room" || fail "$1: campaign state '$state'"
    kill $WORKER; wait $WORKER 2>/dev/null
    kill $COORD; wait $COORD 2>/dev/null
    expect_grep "disk full" "$WORK/coord.log" "$1: the coordinator's log says disk full"
    store_results_exact "$WORK/fs" && pass "$1: every result is in the store, once" || fail "$1: results lost"
}
if [ -f "$FAULT" ]; then
    run_full enospc
    run_full short
else
    fail "no $FAULT (make check builds it)"
fi
finish
