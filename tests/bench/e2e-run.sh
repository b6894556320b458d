#!/bin/sh
# e2e-run.sh MODE [e2e.py options]: what one call on the lent GPU machine runs
# for issue 23, from the repository root, with the binaries packed by
# ../shared/tools/devpack into $PACK (default .devpack-deploy):
#   devpack .devpack-deploy ./spmmfarm runtime/.libs/libspmmfarm-rt.so.0
# Writes under $OUT: versions, the C extension's build log, and
#   overhead   launch_overhead.json (tests/bench/launch_overhead.py)
#   e2e        e2e.tar.gz of e2e/*.json and e2e.log (tests/bench/e2e.py "$@",
#              e.g. --only bert:fp32:0.9; copy the JSON to docs/bench/h100/e2e/)
#   session    the whole issue-23 run in one device call of at most 540 s
#              (run's timeout_s 540): BERT-base fp32 and bf16 at 90 %, then
#              the LLaMA-shaped decode bf16 at 70 % and 90 % (or $ONLY, e.g.
#              ONLY="llama:bf16:0.9 bert:fp32:0.9", in that order), all tuned in
#              the nk layout with a short search (--budget 0 --max-configs
#              $MAXC, default 4), each started only while its estimated
#              cost fits before the deadline ($DEADLINE s, default 460; the
#              torch.compile row only with 90 s to spare); e2e.tar.gz as
#              for e2e, and session.txt with the wall time of each part
set -u
PACK=${PACK:-$PWD/.devpack-deploy}
OUT=${OUT:-/tmp/out}
mode=${1:-}
[ $# -gt 0 ] && shift
if [ -d "$PACK" ]; then  # else the caller's SPMMFARM and SPMMFARM_RT_LIB (tests/py_e2e.sh's dry run)
    export LD_LIBRARY_PATH="$PACK/lib:/usr/local/cuda/lib64"
    export SPMMFARM="$PACK/bin/spmmfarm" SPMMFARM_RT_LIB="$PACK/bin/libspmmfarm-rt.so.0"
fi
export PYTHONPATH="$PWD/python"
# the shipped rank models (local's default strategy where one fits the GPU)
export SPMMFARM_RANKMODELS=${SPMMFARM_RANKMODELS:-$PWD/conf/rankmodels}
PY=${PY:-python3}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv > "$OUT/nvidia-smi.txt" 2>&1
$PY -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, torch.cuda.get_device_name())' \
    > "$OUT/versions.txt" 2>&1
$PY -c 'import transformers; print("transformers", transformers.__version__)' >> "$OUT/versions.txt" 2>&1
# The launch path's C extension, for this Python (Python.h and a C compiler;
# no torch headers); without it spmmfarm.torch launches through ctypes.
# E2E_NO_BUILD=1 (the tests): nothing written into the source tree.
if [ -z "${E2E_NO_BUILD:-}" ]; then
    (cd python && $PY setup.py -q build_ext --inplace) > "$OUT/build_ext.log" 2>&1 \
        || echo "the C extension did not build (see build_ext.log): ctypes launches" | tee -a "$OUT/versions.txt"
fi
cat "$OUT/versions.txt"
case $mode in
overhead)
    $PY tests/bench/launch_overhead.py --out "$OUT" "$@" 2>&1 | tee "$OUT/overhead.log"
    ;;
e2e)
    $PY tests/bench/e2e.py --out "$OUT/e2e" "$@" 2>&1 | tee "$OUT/e2e-stdout.log"
    tar czf "$OUT/e2e.tar.gz" -C "$OUT" e2e && rm -rf "$OUT/e2e"
    ;;
session)
    # the deadline counts from e2e.py's start; setup above took seconds
    # (and a hard stop 30 s after it, inside the call's 540 s with the setup:
    # what finished is written and comes back)
    t0=$(date +%s)
    only=""
    for spec in ${ONLY:-bert:fp32:0.9 bert:bf16:0.9 llama:bf16:0.7 llama:bf16:0.9}; do
        only="$only --only $spec"
    done
    timeout $(( ${DEADLINE:-460} + 30 )) $PY tests/bench/e2e.py --out "$OUT/e2e" --layout nk $only \
        --local-args "--budget 0 --max-configs ${MAXC:-4}" --deadline "${DEADLINE:-460}" --reps 30 "$@" \
        2>&1 | tee "$OUT/e2e-stdout.log"
    echo "e2e.py: $(( $(date +%s) - t0 )) s" >> "$OUT/session.txt"
    tar czf "$OUT/e2e.tar.gz" -C "$OUT" e2e && rm -rf "$OUT/e2e"
    cat "$OUT/session.txt"
    ;;
*)
    echo "usage: tests/bench/e2e-run.sh overhead|e2e|session [options]" >&2
    exit 2
    ;;
esac
