#!/bin/bash
# Launch-by-launch timing against CUDA graph timing (docs/WORKER.md
# "Timing"), same binary, same problems, same search settings: runs the
# bench on SF_AB_FILTER once per method and prints, per problem, the
# winner's and the baselines' times under each. Run on the GPU machine
# from the repository root with .devpack carried (tests/gpu/device-run.sh
# sets up the same paths). Writes $OUT/timing-ab.tgz.
#
#   SF_AB_FILTER   bench filter (default: the small layers, k<=192,m<=256)
#   SF_AB_ARGS     search options (default: U only, the headline's sample)
#   SF_AB_TIME     seconds per method (default 120)
#   SF_AB_METHODS  order of the runs (default "launch graph")
set -u
OUT=${OUT:-/tmp/out}
export LD_LIBRARY_PATH=$PWD/.devpack/lib:/usr/local/cuda/lib64
SPMMFARM=$PWD/.devpack/bin/spmmfarm
dir=$OUT/timing-ab
mkdir -p "$dir"
for method in ${SF_AB_METHODS:-launch graph}; do
    SPMMFARM_TIMING=$method timeout "${SF_AB_TIME:-120}" "$SPMMFARM" bench --suite conf/bench/bench205.conf \
        --filter "${SF_AB_FILTER:-k<=192,m<=256}" -o "$dir/$method" -q \
        ${SF_AB_ARGS:---templates U --max-configs 16 --proxy-top 4 --max-code-fmas 30000} 2>> "$dir/stderr.log"
    echo "$method: bench exit $?, $(wc -l < "$dir/$method/problems.jsonl") problems"
done
python3 - "$dir" ${SF_AB_METHODS:-launch graph} <<'EOF'
import json, math, sys
d, methods = sys.argv[1], sys.argv[2:]
runs = []
for m in methods:
    recs = {}
    for line in open(f"{d}/{m}/problems.jsonl"):
        r = json.loads(line)
        recs[r["id"]] = r
    runs.append(recs)
ids = [i for i in runs[0] if all(i in r for r in runs)]
def g(v):
    return math.exp(sum(map(math.log, v)) / len(v)) if v else float("nan")
print(f"{len(ids)} problems in every run; times in us; {' / '.join(methods)}")
cols = ("best", "sgemm", "cusparse")
def val(r, c):
    return r["best"]["us"] if c == "best" else r["baselines"][c + "_us"]
for i in ids:
    rs = [r[i] for r in [runs[k] for k in range(len(methods))]]
    print(f"{i:30s} " + "  ".join(f"{c} " + "/".join(f"{val(r, c):6.2f}" for r in rs) for c in cols)
          + "  winner " + " / ".join(r["best"]["config"] for r in rs))
for c in cols:
    ratios = [val(runs[0][i], c) / val(runs[-1][i], c) for i in ids]
    print(f"geomean {c} {methods[0]}/{methods[-1]}: {g(ratios):.3f}")
for k, m in enumerate(methods):
    sp = [runs[k][i]["baselines"]["sgemm_us"] / runs[k][i]["best"]["us"] for i in ids]
    print(f"{m}: geomean speedup over SGEMM {g(sp):.3f}")
EOF
tar -C "$OUT" -czf "$OUT/timing-ab.tgz" timing-ab && rm -rf "$dir"
