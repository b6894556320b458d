#!/bin/sh
# One commit path of measurements (issue 18): a layer searched by `tune-local`
# (a client of the embedded farm) and the same request run by `local` (the
# farm: a coordinator, a real worker process, the ledger in the coordinator)
# make identical store records:
# every result (median, spread, p10, p90, samples, error, compile statistics),
# the layer's best (with its baselines) and the winner's kernel. What may
# differ is who measured and when (worker, recorded_ms) and the compile's wall
# seconds, which are measured. The sim backend (real compiles, SIMULATED
# times from its model, which are deterministic) makes the times comparable.
. "$(dirname "$0")/testlib.sh"

"$SPMMFARM" gen --m 256 --k 512 --sparsity 0.97 --seed 3 -o "$WORK/b.mtx" >/dev/null
"$SPMMFARM" gen --m 48 --k 32 --sparsity 0.7 --seed 3 -o "$WORK/a.mtx" >/dev/null

cat > "$WORK/cmp.py" <<'PY'
import json, sys
def load(path):
    out = {}
    for line in open(path):
        if not line.strip():
            continue
        r = json.loads(line)
        v = r["value"]
        for k in ("worker", "recorded_ms"):
            v.pop(k, None)
        if "compile" in v:
            v["compile"].pop("seconds", None)
        out[json.dumps(r["key"], sort_keys=True)] = v
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
if set(a) != set(b):
    print("keys only in one:", sorted(set(a) ^ set(b))[:4])
    sys.exit(1)
diff = [k for k in a if a[k] != b[k]]
for k in diff[:3]:
    print("differs:", k, a[k], b[k])
sys.exit(1 if diff else 0)
PY

# same MATRIX N OPTIONS...: searches it both ways, compares the stores
n=0
same () {
    n=$((n + 1)) m=$1 nn=$2; shift 2
    T="$WORK/tune$n" F="$WORK/farm$n"
    expect_exit 0 "tune-local $*" "$SPMMFARM" tune-local "$WORK/$m" --n $nn --backend sim --compile-threads 2 \
        --store "$T" -q --json "$@"
    expect_exit 0 "local $*" "$SPMMFARM" local "$WORK/$m" --n $nn --backend sim --compile-threads 2 \
        --budget 0 --store "$F" -q --json "$@"
    for db in results best kernels; do
        "$SPMMFARM" store dump "$T" --db $db --json > "$WORK/t.$db" 2>/dev/null
        "$SPMMFARM" store dump "$F" --db $db --json > "$WORK/f.$db" 2>/dev/null
        python3 "$WORK/cmp.py" "$WORK/t.$db" "$WORK/f.$db" > "$WORK/cmp.out" &&
            pass "$m $*: identical $db records ($(grep -c . "$WORK/t.$db"))" ||
            { fail "$m $*: $db records differ"; sed 's/^/    /' "$WORK/cmp.out"; }
    done
    # the two commands made their own campaigns (not one store read twice)
    "$SPMMFARM" store dump "$T" --db campaigns --json > "$WORK/t.campaigns" 2>/dev/null
    "$SPMMFARM" store dump "$F" --db campaigns --json > "$WORK/f.campaigns" 2>/dev/null
    grep -q '"request":"tune-local ' "$WORK/t.campaigns" && ! grep -q '"request":"tune-local ' "$WORK/f.campaigns" &&
        pass "$m $*: tune-local's campaign and local's" || fail "$m $*: the campaigns"
}

# proxy (U proxies, finalists in full, D) with a generated winner: its kernel too
same b.mtx 256 --max-configs 3
[ "$(grep -c . "$WORK/t.kernels")" -ge 1 ] && grep -q '"proxy":true' "$WORK/t.results" &&
    grep -q '"p10_us"' "$WORK/t.results" && pass "proxies, full kernels, a kernel record and p10/p90 compared" ||
    fail "the first request compared fewer kinds of records than it should"
# another tier and layout: the keys carry them
same a.mtx 64 --max-configs 2 --precision bf16 --layout nk --strategy exhaustive
grep -q '"precision":"bf16","layout":"nk"' "$WORK/t.results" && pass "bf16/nk results compared" ||
    fail "no bf16/nk result"
finish
