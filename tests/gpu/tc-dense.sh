#!/bin/bash
# tests/gpu/tc-dense.sh [CASES]: our tensor-core dense kernels against the
# tiers' libraries on the GPU (tests/gpu/tcdense, one process per case),
# then a table. Usage example, on the GPU machine with packed binaries:
#   TCDENSE=bin/tcdense OUT=out tests/gpu/tc-dense.sh tests/gpu/tc-dense.cases
# Writes $OUT/tc.jsonl (one line per case) and $OUT/tc.err; stops starting
# cases after SF_TC_BUDGET seconds (default 150). libcusparseLt (the 2:4
# row of the 16-bit tiers) is taken from SPMMFARM_CUSPARSELT, else the
# first one found under /opt or /usr (PyTorch ships one).
set -u
here=$(cd "$(dirname "$0")" && pwd)
TC=${TCDENSE:-$here/tcdense}
OUT=${OUT:-/tmp/tc-dense}
CASES=${1:-$here/tc-dense.cases}
BUDGET=${SF_TC_BUDGET:-150}
mkdir -p "$OUT"
if [ -z "${SPMMFARM_CUSPARSELT:-}" ]; then
    lt=$(find /opt /usr/local/lib /usr/lib -name 'libcusparseLt.so.0' 2>/dev/null | head -1)
    [ -n "$lt" ] && export SPMMFARM_CUSPARSELT=$lt
fi
echo "cuSPARSELt: ${SPMMFARM_CUSPARSELT:-none}"
start=$(date +%s)
fails=0
while read -r line; do
    case "$line" in ''|\#*) continue;; esac
    if [ $(( $(date +%s) - start )) -ge "$BUDGET" ]; then
        echo "budget of ${BUDGET}s spent: not run: $line" | tee -a "$OUT/tc.err"
        continue
    fi
    # shellcheck disable=SC2086
    timeout 90 "$TC" $line >> "$OUT/tc.jsonl" 2>> "$OUT/tc.err"
    rc=$?
    [ $rc = 0 ] || { echo "case '$line' exited $rc" | tee -a "$OUT/tc.err"; fails=$((fails + 1)); }
done < "$CASES"
python3 - "$OUT/tc.jsonl" <<'PY'
import json, sys
print("%-5s %-18s %-6s %9s %9s %9s %9s %9s %-34s %9s %7s %7s %s" % (
    "tier", "M x K x N", "sparse", "sgemm", "tf32", "blas16", "cusparse", "2:4", "our best config", "ours", "vs lib", "err", "lib err"))
for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except ValueError:
        print("unparsed:", line[:120]); continue
    b = d["baselines"]
    ok = [o for o in d["own"] if o["status"] == "ok"]
    best = min(ok, key=lambda o: o["us"]) if ok else None
    lib = {"fp32": "sgemm", "tf32": "tf32"}.get(d["tier"], "blas16")
    f = lambda v: "%9.2f" % v if v is not None else "%9s" % "-"
    bad = len(d["own"]) - len(ok)
    print("%-5s %-18s %-6g %s %s %s %s %s %-34s %s %7s %7s %s%s" % (
        d["tier"], "%dx%dx%d" % (d["m"], d["k"], d["n"]), d["sparsity"], f(b["sgemm_us"]), f(b["tf32_us"]),
        f(b["blas16_us"]), f(b["cusparse_us"]), f(b["lt24_us"]), best["config"] if best else "-",
        f(best["us"] if best else None),
        "%.2fx" % (b[lib + "_us"] / best["us"]) if best and b.get(lib + "_us") else "-",
        "%.1e" % best["err"] if best else "-", "%.1e" % b[lib + "_err"] if b.get(lib + "_err") is not None else "-",
        "" if not bad else " %d FAILED: %s" % (bad, "; ".join(o["config"] + " " + o["detail"][:60] for o in d["own"] if o["status"] != "ok")),
        "" if d.get("generic_us") is None else "  generic %.2f us" % d["generic_us"]))
PY
echo "tc-dense: $fails case(s) failed"
exit $(( fails > 0 ))
