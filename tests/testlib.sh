# tests/testlib.sh: helpers for the integration scripts (sourced, POSIX sh).
# Each script runs the real spmmfarm program and checks exit codes and output.
set -u
TOP_SRCDIR=${SF_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
TOP_BUILDDIR=${SF_TOP_BUILDDIR:-$TOP_SRCDIR}
SPMMFARM=${SPMMFARM:-$TOP_BUILDDIR/spmmfarm}
SHARED_DATA=${SF_SHARED_DATA:-$TOP_SRCDIR/../shared/data}
TEST_DATA="$TOP_SRCDIR/tests/data"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/spmmfarm-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# A store of the script's own: the default store of tune-local and export
# is the user's cache, which no test reads or writes.
SPMMFARM_STORE="$WORK/store"; export SPMMFARM_STORE
# Likewise the workers' compile cache (default ~/.cache/spmmfarm/kernels).
SPMMFARM_COMPILE_CACHE="$WORK/kernels"; export SPMMFARM_COMPILE_CACHE
FAILED=0
PASSED=0
# python3 loading one of our libraries built with ASan+UBSan (tests/sanitize.sh
# runs make check in that build) needs the ASan runtime loaded first:
# `env $SF_PYENV python3 ...`
SF_PYENV="SF_PY=1"
if [ "${SF_SANITIZE_INNER:-}" = 1 ]; then
    SF_PYENV="LD_PRELOAD=$(clang -print-file-name=libclang_rt.asan-x86_64.so)"
fi

pass () { PASSED=$((PASSED + 1)); echo "ok - $1"; }
fail () { FAILED=$((FAILED + 1)); echo "FAIL - $1"; }

# expect_exit CODE DESCRIPTION COMMAND...: runs COMMAND, output in $WORK/out
# and $WORK/err, and checks its exit code.
expect_exit () {
    want=$1; what=$2; shift 2
    "$@" >"$WORK/out" 2>"$WORK/err"
    got=$?
    if [ "$got" -eq "$want" ]; then pass "$what"; else
        fail "$what: exit $got, wanted $want"; sed 's/^/    err: /' "$WORK/err" | head -5; fi
}

# expect_grep PATTERN FILE DESCRIPTION: FILE matches the extended regex.
expect_grep () {
    if grep -Eq -- "$1" "$2"; then pass "$3"; else
        fail "$3: no '$1' in $(basename "$2")"; sed 's/^/    /' "$2" | head -5; fi
}

# json_get FILE EXPR: a value from a JSON file, through python3.
json_get () {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {"d": d}))' "$1" "$2"
}

# wait_campaign CAMPAIGN SECONDS CLIENT-FLAGS...: polls `status` until the
# campaign has ended (its state in $state, $WORK/st.json the last reply)
wait_campaign () {
    wc_id=$1 wc_secs=$2; shift 2
    state=""
    for wc_i in $(seq 1 $((wc_secs * 5))); do
        "$SPMMFARM" status "$wc_id" "$@" --json >"$WORK/st.json" 2>/dev/null &&
            state=$(json_get "$WORK/st.json" 'd["campaigns"][0]["state"]') &&
            [ "$state" != queued ] && [ "$state" != running ] && return 0
        sleep 0.2
    done
    return 1
}

# store_results_exact STORE: every job of the store's campaigns is done and
# its results are the expected set, each stored exactly once (the farm
# tests' sweeps: layer l has N = 64 + l, a job's configs are its results)
store_results_exact () {
    "$SPMMFARM" store dump "$1" --db jobs --json >"$WORK/jobs.json" 2>/dev/null
    "$SPMMFARM" store dump "$1" --db results --json >"$WORK/results.json" 2>/dev/null
    python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
jobs = [json.loads(l) for l in open(w + "/jobs.json") if l.strip()]
res = [json.loads(l) for l in open(w + "/results.json") if l.strip()]
assert all(j["value"]["state"] == "done" for j in jobs), "a job is not done in the store"
want = set((64 + j["value"]["layer"], c) for j in jobs for c in j["value"]["configs"])
got = [(r["key"]["n"], r["key"]["config"]) for r in res]
assert len(got) == len(set(got)), "a result stored twice"
assert set(got) == want, "%d of %d results" % (len(set(got) & want), len(want))
print("%d jobs, %d results" % (len(jobs), len(got)))
PY
}

finish () {
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    exit $?
}
