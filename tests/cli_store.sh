#!/bin/sh
# spmmfarm store stat|dump|verify on real stores: one record of each type,
# malformed records written with the raw LMDB API, an unknown schema, a
# store held by a writer process, bad arguments and bad directories.
# The stores are written by tests/check_store in its fixture mode.
. "$(dirname "$0")/testlib.sh"
FIXTURE="$TOP_BUILDDIR/tests/check_store"

# help and usage
expect_exit 0 "store --help" "$SPMMFARM" store --help
expect_grep "^usage: spmmfarm store stat" "$WORK/out" "store --help shows usage"
expect_exit 0 "help store" "$SPMMFARM" help store
expect_grep "verify" "$WORK/out" "help store lists verify"
for sub in stat dump verify; do
    expect_exit 0 "store $sub --help" "$SPMMFARM" store $sub --help
    expect_grep "^usage: spmmfarm store" "$WORK/out" "store $sub --help shows usage"
done
expect_exit 0 "the command list names store" "$SPMMFARM" help
expect_grep "^  store " "$WORK/out" "help lists store"
expect_exit 2 "store without a command" "$SPMMFARM" store
expect_exit 2 "store with an unknown command" "$SPMMFARM" store frob "$WORK"
expect_grep "no store command 'frob'" "$WORK/err" "the unknown command is named"
expect_exit 2 "store stat with two directories" "$SPMMFARM" store stat "$WORK/a" "$WORK/b"
expect_exit 2 "store stat --db" "$SPMMFARM" store stat "$WORK/a" --db results
expect_exit 2 "store dump --db with an unknown database" "$SPMMFARM" store dump "$WORK/a" --db nope
expect_grep "no database 'nope'" "$WORK/err" "the unknown database is named"
expect_exit 2 "store stat with an unknown option" "$SPMMFARM" store stat "$WORK/a" --frob

# bad directories: nothing there, a file, a directory without a store
expect_exit 2 "stat of a missing directory" "$SPMMFARM" store stat "$WORK/missing"
expect_grep "no store at .*missing" "$WORK/err" "the missing store is named"
: >"$WORK/file"
expect_exit 2 "stat of a file" "$SPMMFARM" store stat "$WORK/file"
mkdir "$WORK/empty"
expect_exit 2 "stat of a directory without a store" "$SPMMFARM" store verify "$WORK/empty"
expect_grep "no data.mdb" "$WORK/err" "says what is missing"
[ ! -e "$WORK/empty/data.mdb" ] && pass "a reader creates nothing" || fail "a reader created a store"

# a store with one record of every type
"$FIXTURE" --fill "$WORK/s" >/dev/null || fail "fixture --fill"
expect_exit 0 "stat" "$SPMMFARM" store stat "$WORK/s"
expect_grep "^schema: +1 \(created .* by spmmfarm " "$WORK/out" "stat shows the schema version"
expect_grep "^results +1 " "$WORK/out" "stat counts results"
expect_grep "^meta +3 " "$WORK/out" "stat counts meta entries"
expect_exit 0 "stat --json" "$SPMMFARM" store stat "$WORK/s" --json
cp "$WORK/out" "$WORK/stat.json"
[ "$(json_get "$WORK/stat.json" 'd["schema"] == 1 and d["databases"]["models"]["entries"] == 1 and d["map_bytes"] >= d["used_bytes"] > 0 and d["readers"] == 0')" = True ] \
    && pass "stat --json: schema, counts, sizes, readers" || fail "stat --json"
expect_exit 0 "stat of the default store (SPMMFARM_STORE)" env SPMMFARM_STORE="$WORK/s" "$SPMMFARM" store stat
expect_grep "^store: +$WORK/s\$" "$WORK/out" "the default store comes from SPMMFARM_STORE"

expect_exit 0 "dump" "$SPMMFARM" store dump "$WORK/s"
[ "$(wc -l <"$WORK/out")" -eq 10 ] && pass "dump: one line per record" || fail "dump: $(wc -l <"$WORK/out") lines"
expect_grep "^results NVIDIA H100 80GB HBM3/sm_90/132sm \| [0-9a-f]{64} \| N=64 \| U \| U:r32.v4.t64.g2.o1.m128.sim \| full: status=0 " \
    "$WORK/out" "dump: a result's key fields"
expect_grep "compile.regs=96" "$WORK/out" "dump: nested fields"
expect_grep "^kernels [0-9a-f]{64}: template=U .*cubin_bytes=1000" "$WORK/out" "dump: a kernel's blob as its size"
expect_grep "^best 1/0: .*cusparse_us=nan" "$WORK/out" "dump: NaN as nan"
expect_grep "^campaigns 1: name=bert-base strategy=proxy state=running" "$WORK/out" "dump: a campaign"
expect_exit 0 "dump --db jobs" "$SPMMFARM" store dump "$WORK/s" --db jobs
[ "$(wc -l <"$WORK/out")" -eq 1 ] && pass "dump --db: one database" || fail "dump --db"
expect_grep '^jobs 1/1: state=leased layer=1 kind=proxy configs=\["U:' "$WORK/out" "dump: a job"
expect_exit 0 "dump --json" "$SPMMFARM" store dump "$WORK/s" --json
python3 - "$WORK/out" <<'EOF' && pass "dump --json: one object per line" || fail "dump --json"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
dbs = sorted(l["db"] for l in lines)
assert dbs == sorted(["meta"] * 3 + ["matrices", "campaigns", "jobs", "results", "best", "kernels", "models"]), dbs
r = next(l for l in lines if l["db"] == "results")
assert r["key"]["n"] == 64 and r["key"]["proxy"] is False and r["value"]["us"] == 31.5
m = next(l for l in lines if l["db"] == "matrices")
assert m["value"]["m"] == 48 and len(m["key"]["hash"]) == 64
b = next(l for l in lines if l["db"] == "best")
assert b["value"]["cusparse_us"] is None  # NaN: JSON has none
EOF

expect_exit 0 "verify a good store" "$SPMMFARM" store verify "$WORK/s"
expect_grep "10 records checked, 0 bad" "$WORK/out" "verify counts records"
expect_exit 0 "verify --json" "$SPMMFARM" store verify "$WORK/s" --json
[ "$(json_get "$WORK/out" 'd["checked"] == 10 and d["bad"] == 0 and d["problems"] == []')" = True ] \
    && pass "verify --json" || fail "verify --json"

# readers work while a writer process holds the store
"$FIXTURE" --hold "$WORK/s" "$WORK/ready" "$WORK/go" >/dev/null &
holder=$!
i=0; while [ ! -e "$WORK/ready" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
expect_exit 0 "stat while a writer holds the store" "$SPMMFARM" store stat "$WORK/s"
expect_exit 0 "verify while a writer holds the store" "$SPMMFARM" store verify "$WORK/s"
: >"$WORK/go"
wait $holder && pass "the writer process ran" || fail "the writer process failed"

# malformed records: verify lists each and exits 1; dump stops and says why
"$FIXTURE" --garbage "$WORK/g" >/dev/null || fail "fixture --garbage"
expect_exit 1 "verify a store with malformed records" "$SPMMFARM" store verify "$WORK/g"
[ "$(grep -c '^bad: ' "$WORK/out")" -eq 8 ] && pass "verify: every malformed record listed" \
    || fail "verify: $(grep -c '^bad: ' "$WORK/out") listed"
expect_grep "18 records checked, 8 bad" "$WORK/out" "verify: the counts"
expect_grep "^bad: results H100 \| .*type 0xc1 is not accepted" "$WORK/out" "verify: names database, key and reason"
expect_grep "^bad: models H100 \| v3: .*elements announced" "$WORK/out" "verify: an oversized count"
expect_grep "^bad: meta 'colour': .*unknown meta entry" "$WORK/out" "verify: a printable key as text"
expect_grep "cannot be read" "$WORK/err" "verify says so on stderr"
expect_exit 1 "verify --json of malformed records" "$SPMMFARM" store verify "$WORK/g" --json
[ "$(json_get "$WORK/out" 'd["bad"] == 8 and len(d["problems"]) == 8')" = True ] \
    && pass "verify --json lists the problems" || fail "verify --json problems"
expect_exit 2 "dump stops at a malformed record" "$SPMMFARM" store dump "$WORK/g"
expect_grep "store verify" "$WORK/err" "dump points to verify"

# an unknown schema version is refused, never misread
"$FIXTURE" --schema "$WORK/s" 99 >/dev/null || fail "fixture --schema"
expect_exit 2 "stat of an unknown schema version" "$SPMMFARM" store stat "$WORK/s"
expect_grep "schema version 99" "$WORK/err" "the refusal names the version"
finish
