#!/bin/sh
# t-e2.sh: template T's encoding e2 (session 20) through the farm's whole
# path on a GPU, as T's searched space has it since session 22 (e0 and e2;
# e1 only by name: docs/DECISIONS.md, "T's encoding e2 replaces e1 in the
# searched space"). tc-bench.sh e2 verified e2's kernels through tc_bench;
# this runs them where users get them:
#   search   tune-local (worker, measuring child, verification against the
#            CPU reference) in the bf16 tier with T's default space; kn and
#            nk; awkward shapes (N = 1, 7, 17; K = 27, 300: not multiples
#            of 16; empty rows; a fully dense panel) and LLaMA's 4096 x 4096
#            at 90 %, N = 16, where T wins
#   runtime  the 4096 x 4096 winners exported (spmmfarm export) and run
#            through libspmmfarm-rt by `bundle verify` at N = 16, 7 and 1
# Every e2 candidate must verify, at least one must have run in each search
# and none may be e1 (the space's); a T winner of the 4096 x 4096 searches
# must be e2.
#   SPMMFARM=path/to/spmmfarm (default ./spmmfarm); SF_GPU_CONFIGS (default 24)
# About 2-4 minutes on a warm H100 (NVRTC compiles). Exit 1 on any failure.
SF_TOP_SRCDIR=${SF_TOP_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
export SF_TOP_SRCDIR
. "$(dirname "$0")/../testlib.sh"

CONFIGS=${SF_GPU_CONFIGS:-24}

expect_exit 0 "a GPU is visible" "$SPMMFARM" devices --json
json_get "$WORK/out" 'len(d["devices"])' 2>/dev/null | grep -qv '^0$' || { echo "no GPU: nothing to check"; exit 77; }

gen () { "$SPMMFARM" gen --m "$1" --k "$2" --sparsity "$3" --seed 7 -o "$WORK/$4.mtx" >/dev/null; }
gen 70 27 0.7 awkward
gen 32 32 0.0 dense
gen 100 300 0.98 emptyish
gen 4096 4096 0.9 llama

# tune NAME FILE N LAYOUT [flags]: a bf16 search of T (its prior's first picks)
tune () {
    name=$1; file=$2; n=$3; layout=$4; shift 4
    expect_exit 0 "$name: the search runs" "$SPMMFARM" tune-local "$file" --n "$n" --layout "$layout" \
        --precision bf16 --templates T --strategy exhaustive --max-configs "$CONFIGS" --json -q "$@"
    cp "$WORK/out" "$WORK/$name.json"
    echo "    $name: $(json_get "$WORK/$name.json" \
        '"%d timed, %d failed, best %s %.2f us err %s" % (d["search"]["timed"], d["search"]["failed"], d["best"]["config"], d["best"]["us"], d["best"]["max_rel_err"])')"
    e2=$(json_get "$WORK/$name.json" \
        'sum(1 for c in d["candidates"] if c["config"].startswith("T:e2") and c["status"] == "ok")')
    bad=$(json_get "$WORK/$name.json" \
        '[c["config"] + ": " + c["status"] for c in d["candidates"] if c["config"].startswith("T:e2") and c["status"] != "ok"]')
    e1=$(json_get "$WORK/$name.json" 'sum(1 for c in d["candidates"] if c["config"].startswith("T:e1"))')
    [ "${e1:-1}" = 0 ] && pass "$name: no e1 config in T's space" || fail "$name: $e1 e1 configs searched"
    [ "${e2:-0}" -ge 1 ] && [ "$bad" = "[]" ] && [ "$(json_get "$WORK/$name.json" 'd["search"]["failed"]')" = 0 ] \
        && pass "$name: $e2 e2 candidates timed and verified" || fail "$name: e2 candidates: $e2 ok, failed: $bad"
    [ "$(json_get "$WORK/$name.json" 'd["best"]["verified"] and not d["simulated"]')" = True ] \
        && pass "$name: the winner verified on the GPU" || fail "$name: the winner not verified (or simulated)"
}
tune awkward-n1 "$WORK/awkward.mtx" 1 kn --no-store
tune awkward-n17-bias "$WORK/awkward.mtx" 17 nk --no-store --bias --relu
tune dense-panel "$WORK/dense.mtx" 16 kn --no-store
tune emptyish-n7 "$WORK/emptyish.mtx" 7 nk --no-store
S="$WORK/store"
tune llama-kn "$WORK/llama.mtx" 16 kn --store "$S"
tune llama-nk "$WORK/llama.mtx" 16 nk --store "$S"
# session 20 measured e2 at 11.80 us against cuBLAS bf16's 14.85 here (kn):
# a dense winner would leave the runtime part without an e2 layer
for name in llama-kn llama-nk; do
    [ "$(json_get "$WORK/$name.json" 'd["best"]["config"].startswith("T:e2")')" = True ] \
        && pass "$name: the winner is an e2 kernel" || fail "$name: the winner is not e2"
done

# the runtime: every campaign of the store exported, run at three N
expect_exit 0 "export the 4096 x 4096 winners" "$SPMMFARM" export --all --store "$S" --precision bf16 \
    -o "$WORK/e2.bundle"
sed 's/^/    /' "$WORK/out" | head -6
layers=$("$SPMMFARM" bundle inspect "$WORK/e2.bundle" --json | python3 -c \
    'import json,sys; print(" ".join(l["name"] for l in json.load(sys.stdin)["layers"]))' 2>/dev/null)
mflags=""
for l in $layers; do mflags="$mflags --matrix $l=$WORK/llama.mtx"; done
for n in 16 7 1; do
    # shellcheck disable=SC2086
    expect_exit 0 "bundle verify through libspmmfarm-rt at N = $n ($layers)" "$SPMMFARM" bundle verify \
        "$WORK/e2.bundle" --n $n $mflags
    grep -q "no GPU" "$WORK/out" && fail "bundle verify at N = $n ran without a GPU"
    sed 's/^/    /' "$WORK/out" | head -6
done
finish
