#!/bin/sh
# The Python package spmmfarm against real PyTorch, no GPU: installed offline
# with pip (pip install --no-build-isolation, its C extension built when the
# Python headers are there), then tests/py_torch.py twice: through the
# installed package's launch path, and from the source tree through ctypes.
# The CUDA driver is the tests' fake one (it records launches, computes
# nothing). Skipped (exit 77) when no Python has torch: SF_TORCH_PYTHON names
# one, else python3 and Debian's /usr/bin/python3 (python3-torch) are tried.
. "$(dirname "$0")/testlib.sh"
if [ "${SF_SANITIZE_INNER:-}" = 1 ]; then
    echo "SKIP: the ASan+UBSan build: torch under a preloaded ASan runtime is not run (the runtime it drives is: check_rt, cli_bundle.sh, cli_precision.sh)"
    exit 77
fi
FAKE="$TOP_BUILDDIR/tests/.libs/libfakecudak.so"
RT_LIB=${SPMMFARM_RT_LIB:-$TOP_BUILDDIR/runtime/.libs/libspmmfarm-rt.so.0}
export PYTHONDONTWRITEBYTECODE=1

# torch_python: the first interpreter that imports torch (and numpy), or "".
torch_python () {
    for py in ${SF_TORCH_PYTHON:-} python3 /usr/bin/python3; do
        if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import torch, numpy' >/dev/null 2>&1; then
            echo "$py"; return
        fi
    done
}
PY=$(torch_python)
if [ -z "$PY" ]; then
    echo "SKIP: no Python with torch and numpy (install Debian's python3-torch, or set SF_TORCH_PYTHON)"
    exit 77
fi
echo "# $PY: torch $("$PY" -c 'import torch; print(torch.__version__)')"
[ -f "$FAKE" ] || { echo "FAIL - no fake driver at $FAKE (make check builds it)"; exit 1; }

# ---- pip install, offline, from a copy (the build writes into its tree)
cp -r "$TOP_SRCDIR/python" "$WORK/pysrc"
rm -rf "$WORK/pysrc/build" "$WORK/pysrc"/*.egg-info "$WORK/pysrc/spmmfarm"/_launch*.so "$WORK/pysrc/spmmfarm/_paths.py"
if "$PY" -m pip --version >/dev/null 2>&1; then
    expect_exit 0 "pip install --no-build-isolation ./python (offline)" \
        "$PY" -m pip install --no-build-isolation --no-index --no-deps --target "$WORK/site" "$WORK/pysrc"
    SITE="$WORK/site"
    if ls "$SITE"/spmmfarm/_launch*.so >/dev/null 2>&1; then EXPECT=c; else
        EXPECT=ctypes; echo "# no C extension built (no Python.h?): ctypes launches"; fi
else
    echo "# $PY has no pip: the package from the source tree only"
    SITE="$TOP_SRCDIR/python"; EXPECT=ctypes
fi
expect_exit 0 "import spmmfarm.torch without the library" \
    env PYTHONPATH="$SITE" SPMMFARM_RT_LIB=/nonexistent "$PY" -c 'import spmmfarm.torch, spmmfarm.bundle'

# ---- the tests, through the installed package and through ctypes
mkdir "$WORK/a" "$WORK/b"
if env PYTHONPATH="$SITE" SPMMFARM="$SPMMFARM" SPMMFARM_LIBCUDA="$FAKE" SPMMFARM_RT_LIB="$RT_LIB" \
        EXPECT_LAUNCH=$EXPECT "$PY" "$TOP_SRCDIR/tests/py_torch.py" "$WORK/a" > "$WORK/a.log" 2>&1; then
    pass "py_torch.py through the installed package ($EXPECT launches): $(tail -1 "$WORK/a.log")"
else
    fail "py_torch.py through the installed package"; grep -v '^ok' "$WORK/a.log" | head -20
fi
if env PYTHONPATH="$TOP_SRCDIR/python" SPMMFARM="$SPMMFARM" SPMMFARM_LIBCUDA="$FAKE" SPMMFARM_RT_LIB="$RT_LIB" \
        SPMMFARM_LAUNCH=ctypes EXPECT_LAUNCH=ctypes "$PY" "$TOP_SRCDIR/tests/py_torch.py" "$WORK/b" > "$WORK/b.log" 2>&1; then
    pass "py_torch.py from the source tree (ctypes launches): $(tail -1 "$WORK/b.log")"
else
    fail "py_torch.py from the source tree"; grep -v '^ok' "$WORK/b.log" | head -20
fi
grep '^#' "$WORK/a.log" | sort -u
finish
