#!/bin/sh
# spmmfarm devices: answers on any machine. No driver or no GPU is exit 0 with
# the reason; the fake driver (tests/fake_libcuda.c, built by `make check`)
# lists two GPUs; a driver that fails after loading is exit 1.
. "$(dirname "$0")/testlib.sh"

FAKE="$TOP_BUILDDIR/tests/.libs/libfakecuda.so"
CUDA_HOME=$(sed -n 's/^#define SF_CUDA_HOME "\(.*\)"$/\1/p' "$TOP_BUILDDIR/config.h" 2>/dev/null)
STUB=""
for dir in "${CUDA_HOME:-/usr/local/cuda}/lib64/stubs" "${CUDA_HOME:-/usr/local/cuda}/lib/stubs"; do
    [ -f "$dir/libcuda.so" ] && { STUB="$dir/libcuda.so"; break; }
done

# The program never links the driver, not even through another library.
if command -v ldd >/dev/null 2>&1; then
    ldd "$SPMMFARM" >"$WORK/ldd" 2>&1
    if grep -q "libcuda\.so" "$WORK/ldd"; then fail "spmmfarm links libcuda"; else
        pass "spmmfarm does not link libcuda"; fi
fi

# This machine's own driver: CI has none; a GPU machine lists its GPUs.
unset SPMMFARM_LIBCUDA SF_FAKE_CUDA_INIT SF_FAKE_CUDA_DEVICES
expect_exit 0 "devices on this machine" "$SPMMFARM" devices
cp "$WORK/out" "$WORK/default.txt"
expect_exit 0 "devices --json on this machine" "$SPMMFARM" devices --json
cp "$WORK/out" "$WORK/default.json"
if grep -q "^no CUDA-capable GPU: " "$WORK/default.txt"; then
    pass "no GPU here, and it says so"
    [ "$(json_get "$WORK/default.json" 'len(d["devices"])')" = 0 ] \
        && pass "JSON: no devices" || fail "JSON: no devices"
    if grep -q "CUDA driver not found" "$WORK/default.txt"; then
        expect_grep "this machine has no NVIDIA driver" "$WORK/default.txt" "says there is no driver"
        [ "$(json_get "$WORK/default.json" 'd["driver"]')" = None ] \
            && pass "JSON: driver is null" || fail "JSON: driver is null"
    fi
else
    expect_grep "^CUDA driver [0-9]+\.[0-9]+ " "$WORK/default.txt" "a GPU machine shows its driver"
    [ "$(json_get "$WORK/default.json" 'len(d["devices"]) > 0 and d["devices"][0]["sm_count"] > 0')" = True ] \
        && pass "JSON: the real GPUs" || fail "JSON: the real GPUs"
fi

# A path that does not exist: no driver, exit 0, and the path is named.
expect_exit 0 "devices with a missing SPMMFARM_LIBCUDA" \
    env SPMMFARM_LIBCUDA=/nonexistent/libcuda.so.1 "$SPMMFARM" devices
expect_grep "^no CUDA-capable GPU: CUDA driver not found \(/nonexistent/libcuda.so.1" "$WORK/out" \
    "the missing library is named"
expect_exit 0 "devices --json with a missing SPMMFARM_LIBCUDA" \
    env SPMMFARM_LIBCUDA=/nonexistent/libcuda.so.1 "$SPMMFARM" devices --json
[ "$(json_get "$WORK/out" 'd["devices"] == [] and d["driver"] is None and "/nonexistent" in d["reason"]')" = True ] \
    && pass "JSON: empty list, null driver, reason" || fail "JSON: empty list, null driver, reason"

# The fake driver: two GPUs in text and JSON.
if [ ! -f "$FAKE" ]; then
    fail "$FAKE is missing: run 'make check'"
    finish
fi
expect_exit 0 "devices with the fake driver" env SPMMFARM_LIBCUDA="$FAKE" "$SPMMFARM" devices
expect_grep "^CUDA driver 13\.0 .*, 2 GPUs$" "$WORK/out" "text: driver version and GPU count"
expect_grep "^0 +Fake H100 +132 +9\.0 +80\.0 GiB +Fake H100/sm_90/132sm$" "$WORK/out" "text: GPU 0"
expect_grep "^1 +Fake H100 +132 +9\.0 +80\.0 GiB +Fake H100/sm_90/132sm$" "$WORK/out" "text: GPU 1"
expect_grep "^note: .*lacks cuDevicePrimaryCtxRetain.*cannot run kernels" "$WORK/out" \
    "text: a driver without the compute entry points is flagged"
expect_exit 0 "devices --json with the fake driver" env SPMMFARM_LIBCUDA="$FAKE" "$SPMMFARM" devices --json
cp "$WORK/out" "$WORK/fake.json"
[ "$(json_get "$WORK/fake.json" 'd["driver"]')" = 13.0 ] && pass "JSON: driver 13.0" || fail "JSON: driver 13.0"
[ "$(json_get "$WORK/fake.json" '[x["index"] for x in d["devices"]]')" = "[0, 1]" ] \
    && pass "JSON: two devices" || fail "JSON: two devices"
[ "$(json_get "$WORK/fake.json" 'd["devices"][0]["gpu_type"]')" = "Fake H100/sm_90/132sm" ] \
    && pass "JSON: gpu_type" || fail "JSON: gpu_type"
[ "$(json_get "$WORK/fake.json" '(d["devices"][1]["name"], d["devices"][1]["sm_count"], d["devices"][1]["compute_capability"], d["devices"][1]["memory_bytes"], d["devices"][1]["driver_version"])')" \
    = "('Fake H100', 132, '9.0', 85899345920, '13.0')" ] \
    && pass "JSON: GPU 1's fields" || fail "JSON: GPU 1's fields"
[ "$(json_get "$WORK/fake.json" '"cuMemAlloc_v2" in d["missing_symbols"] and d["can_run_kernels"] is False')" = True ] \
    && pass "JSON: missing compute symbols listed" || fail "JSON: missing compute symbols listed"

# Driver present, no GPU: exit 0 with the CUresult, and the driver's version.
expect_exit 0 "fake cuInit says no device" \
    env SPMMFARM_LIBCUDA="$FAKE" SF_FAKE_CUDA_INIT=100 "$SPMMFARM" devices --json
[ "$(json_get "$WORK/out" 'd["devices"] == [] and d["driver"] == "13.0" and "CUDA_ERROR_NO_DEVICE" in d["reason"]')" = True ] \
    && pass "JSON: no device, driver 13.0, reason" || fail "JSON: no device, driver 13.0, reason"
expect_exit 0 "fake driver with zero GPUs" \
    env SPMMFARM_LIBCUDA="$FAKE" SF_FAKE_CUDA_DEVICES=0 "$SPMMFARM" devices
expect_grep "^no CUDA-capable GPU: the CUDA 13.0 driver sees no device" "$WORK/out" "zero GPUs is said plainly"

# A driver that loads and then fails is a runtime failure.
expect_exit 1 "fake cuInit fails otherwise" \
    env SPMMFARM_LIBCUDA="$FAKE" SF_FAKE_CUDA_INIT=999 "$SPMMFARM" devices
expect_grep "error: cuInit: CUDA_ERROR_UNKNOWN \(999\)" "$WORK/err" "the CUresult is on stderr"
expect_exit 1 "a library that is not a driver" env SPMMFARM_LIBCUDA=libm.so.6 "$SPMMFARM" devices --json
expect_grep "lacks cuGetErrorName" "$WORK/err" "the missing symbol is named"
if [ -n "$STUB" ]; then
    expect_exit 0 "the toolkit's stub is no driver" env SPMMFARM_LIBCUDA="$STUB" "$SPMMFARM" devices
    expect_grep "^no CUDA-capable GPU: .*CUDA_ERROR_STUB_LIBRARY" "$WORK/out" "the stub is recognised"
fi

# Usage
expect_exit 2 "devices with an argument" "$SPMMFARM" devices gpu0
expect_exit 2 "devices with an unknown option" "$SPMMFARM" devices --frob
finish
