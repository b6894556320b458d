#!/bin/sh
# e2e-run.sh MODE [e2e.py options]: what one call on the lent GPU machine runs
# for issue 23, from the repository root, with the binaries packed by
# ../shared/tools/devpack into $PACK (default .devpack-deploy):
#   devpack .devpack-deploy ./spmmfarm runtime/.libs/libspmmfarm-rt.so.0
# Writes under $OUT: versions, the C extension's build log, and
#   overhead   launch_overhead.json (tests/bench/launch_overhead.py)
#   e2e        e2e.tar.gz of e2e/*.json and e2e.log (tests/bench/e2e.py "$@",
#              e.g. --only bert:fp32:0.9; copy the JSON to docs/bench/h100/e2e/)
set -u
PACK=${PACK:-$PWD/.devpack-deploy}
OUT=${OUT:-/tmp/out}
mode=${1:-}
[ $# -gt 0 ] && shift
export LD_LIBRARY_PATH="$PACK/lib:/usr/local/cuda/lib64"
export SPMMFARM="$PACK/bin/spmmfarm" SPMMFARM_RT_LIB="$PACK/bin/libspmmfarm-rt.so.0"
export PYTHONPATH="$PWD/python"
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv > "$OUT/nvidia-smi.txt" 2>&1
python3 -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, torch.cuda.get_device_name())' \
    > "$OUT/versions.txt" 2>&1
python3 -c 'import transformers; print("transformers", transformers.__version__)' >> "$OUT/versions.txt" 2>&1
# The launch path's C extension, for this Python (Python.h and a C compiler;
# no torch headers); without it spmmfarm.torch launches through ctypes.
(cd python && python3 setup.py -q build_ext --inplace) > "$OUT/build_ext.log" 2>&1 \
    || echo "the C extension did not build (see build_ext.log): ctypes launches" | tee -a "$OUT/versions.txt"
cat "$OUT/versions.txt"
case $mode in
overhead)
    python3 tests/bench/launch_overhead.py --out "$OUT" "$@" 2>&1 | tee "$OUT/overhead.log"
    ;;
e2e)
    python3 tests/bench/e2e.py --out "$OUT/e2e" "$@" 2>&1 | tee "$OUT/e2e-stdout.log"
    tar czf "$OUT/e2e.tar.gz" -C "$OUT" e2e && rm -rf "$OUT/e2e"
    ;;
*)
    echo "usage: tests/bench/e2e-run.sh overhead|e2e [options]" >&2
    exit 2
    ;;
esac
