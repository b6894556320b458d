#!/bin/bash
# tests/gpu/wgnk.sh: the wgmma dense kernels in layout nk (X N x K in,
# Y = X A^T N x M out: nn.Linear's) on the GPU, every tier, against the
# mma.sync nk kernels and the tiers' libraries (issue 23; docs/KERNELS.md
# "Layout nk"). One tests/gpu/tcdense process per case, each running every
# config sf_tcdense_configs_layout offers in nk (wg./ws. and tc.), each
# verified at the tier's bound (--check) and graph-timed beside the
# baselines of the same run. Usage, on the GPU machine, with the binaries
# packed (../shared/tools/devpack):
#   TCDENSE=bin/tcdense OUT=$OUT/wgnk tests/gpu/wgnk.sh
# Options (environment): SF_WGNK_BUDGET seconds before no new case starts
# (default 480); SF_WGNK_KN=1 also runs each timing case in kn (the wgmma
# kernels' kn times beside their nk ones; about twice the time);
# SF_WGNK_ONLY=timing|awkward runs one half; SF_WGNK_TIERS="fp32 bf16" some tiers.
# Writes $OUT/wgnk.jsonl (one line per case run) and $OUT/wgnk.err, prints a
# table: per case the best wg/ws nk config and its time, the best tc nk
# time, SGEMM / cuBLAS TF32 / cuBLASLt 16-bit, and ours against the tier's
# library (fp32: SGEMM; tf32: cuBLAS TF32; bf16/fp16: cuBLASLt).
# Exit 0 when every case ran and every config verified; 1 when a config
# failed to verify or compile, or a case failed or did not run; 2 on bad
# usage; 77 without a GPU.
set -u
here=$(cd "$(dirname "$0")" && pwd)
TC=${TCDENSE:-$here/tcdense}
OUT=${OUT:-/tmp/wgnk}
BUDGET=${SF_WGNK_BUDGET:-480}
ONLY=${SF_WGNK_ONLY:-}
case "${1:-}" in
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0;;
    '') ;;
    *) echo "usage: wgnk.sh (no arguments; see --help)" >&2; exit 2;;
esac
[ -x "$TC" ] || { echo "wgnk.sh: no tcdense at $TC (set TCDENSE)" >&2; exit 2; }
mkdir -p "$OUT"
: > "$OUT/wgnk.jsonl"
: > "$OUT/wgnk.err"

# timing cases: BERT-base at 4096 tokens (90 %), LLaMA-2-7B's decode (N =
# 16: the mma.sync kernels only, 64-column warpgroups waste) and prefill
# down projection; bias + ReLU on one of them in every tier
timing=()
for t in ${SF_WGNK_TIERS:-fp32 tf32 bf16 fp16}; do
    timing+=("$t 768 768 4096 0.9" "$t 3072 768 4096 0.9" "$t 768 3072 4096 0.9" "$t 11008 4096 16 0.9"
             "$t 4096 11008 512 0.9" "$t 3072 768 4096 0.9 bias relu")
done
# awkward cases (correctness of the nk paths): M, K, N off every tile, K
# not a multiple of a 16-byte piece (X's scalar loads), plain A (bundles'),
# bias and ReLU; and each kind's K split over a cluster named by --extra
awkward=()
for t in x3:fp32 tf32:tf32 bf16:bf16 fp16:fp16; do
    kind=${t%%:*} tier=${t##*:}
    case " ${SF_WGNK_TIERS:-fp32 tf32 bf16 fp16} " in *" $tier "*) ;; *) continue;; esac
    bk=32; [ "$tier" = bf16 ] || [ "$tier" = fp16 ] && bk=64
    awkward+=("--plain $tier 131 77 509 0.5 bias relu"
              "--plain $tier 200 1000 100 0.5 bias"
              "--extra wg.$kind.m128n128k$bk.w128x64.s4.k4 --extra wg.$kind.m128n64k$bk.w128x64.s4.k2 $tier 131 1000 70 0.5 relu")
done

start=$(date +%s)
fails=0
notrun=0
run_case () {  # LAYOUT-FLAG ARGS...
    if [ $(( $(date +%s) - start )) -ge "$BUDGET" ]; then
        echo "budget of ${BUDGET}s spent: not run: $*" | tee -a "$OUT/wgnk.err"
        notrun=$((notrun + 1))
        return
    fi
    # shellcheck disable=SC2068
    timeout 120 "$TC" --check $@ >> "$OUT/wgnk.jsonl" 2>> "$OUT/wgnk.err"
    local rc=$?
    if [ $rc = 77 ]; then
        echo "wgnk.sh: no GPU" >&2
        exit 77
    fi
    [ $rc = 0 ] || { echo "case '$*' exited $rc" | tee -a "$OUT/wgnk.err"; fails=$((fails + 1)); }
}
# the cases are word lists: split on purpose
# shellcheck disable=SC2086
if [ "$ONLY" != awkward ]; then
    for c in "${timing[@]}"; do
        run_case --nk $c
        [ "${SF_WGNK_KN:-0}" = 1 ] && run_case $c
    done
fi
# shellcheck disable=SC2086
if [ "$ONLY" != timing ]; then
    for c in "${awkward[@]}"; do
        run_case --nk $c
    done
fi

python3 - "$OUT/wgnk.jsonl" <<'PY'
import json, sys
hdr = ("layout", "tier", "M x K x N", "epi", "best wg/ws config", "wg us", "tc us", "sgemm", "tf32", "blas16",
       "lib/wg", "lib/tc", "wg err", "failed")
fmt = "%-3s %-5s %-16s %-9s %-40s %8s %8s %8s %8s %8s %7s %7s %8s %s"
print(fmt % hdr)
def num(v):
    return "%8.2f" % v if v is not None else "%8s" % "-"
for line in open(sys.argv[1]):
    try:
        d = json.loads(line)
    except ValueError:
        print("unparsed:", line[:120]); continue
    b = d.get("baselines", {})
    own = d.get("own", [])
    ok = [o for o in own if o["status"] == "ok" and o.get("us") is not None]
    wg = [o for o in ok if o["config"][:3] in ("wg.", "ws.")]
    tc = [o for o in ok if o["config"][:3] == "tc."]
    bw = min(wg, key=lambda o: o["us"]) if wg else None
    bt = min(tc, key=lambda o: o["us"]) if tc else None
    lib = {"fp32": "sgemm", "tf32": "tf32"}.get(d["tier"], "blas16")
    lv = b.get(lib + "_us")
    ratio = lambda o: "%6.2fx" % (lv / o["us"]) if o and lv else "%7s" % "-"
    bad = [o["config"] + ": " + o["status"] + " " + o.get("detail", "")[:50] for o in own if o["status"] != "ok"]
    epi = ("bias" if d.get("bias") else "") + ("+relu" if d.get("relu") else "")
    print(fmt % (d["layout"], d["tier"], "%dx%dx%d" % (d["m"], d["k"], d["n"]), epi or "-",
                 (bw["config"] if bw else "-")[:40], num(bw["us"] if bw else None), num(bt["us"] if bt else None),
                 num(b.get("sgemm_us")), num(b.get("tf32_us")), num(b.get("blas16_us")), ratio(bw), ratio(bt),
                 "%.1e" % bw["err"] if bw and bw.get("err") is not None else "-",
                 "; ".join(bad) if bad else ""))
PY
echo "wgnk.sh: $fails case(s) failed, $notrun not run (logs: $OUT/wgnk.jsonl, $OUT/wgnk.err)"
[ $fails = 0 ] && [ $notrun = 0 ]
