#!/bin/sh
# The end-to-end benchmark's plumbing, no GPU: tests/bench/e2e.py --dry-run
# (small models on the CPU: prune, safetensors checkpoint, spmmfarm import,
# spmmfarm local on the sim backend, sparsify through the fake CUDA driver,
# the output contract's JSON; BERT needs transformers and says so when it is
# missing), and a configuration that fails is written as failed-*.json.
# Skipped (exit 77) when no Python has torch (tests/py_torch.sh says how).
. "$(dirname "$0")/testlib.sh"
if [ "${SF_SANITIZE_INNER:-}" = 1 ]; then
    echo "SKIP: the ASan+UBSan build: torch under a preloaded ASan runtime is not run (the runtime it drives is: check_rt, cli_bundle.sh, cli_precision.sh)"
    exit 77
fi
FAKE="$TOP_BUILDDIR/tests/.libs/libfakecudak.so"
export SPMMFARM_RT_LIB="${SPMMFARM_RT_LIB:-$TOP_BUILDDIR/runtime/.libs/libspmmfarm-rt.so.0}"
export SPMMFARM_LIBCUDA="$FAKE" SPMMFARM PYTHONDONTWRITEBYTECODE=1
PY=""
for py in ${SF_TORCH_PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import torch, numpy' >/dev/null 2>&1; then PY=$py; break; fi
done
if [ -z "$PY" ]; then
    echo "SKIP: no Python with torch and numpy (install Debian's python3-torch, or set SF_TORCH_PYTHON)"
    exit 77
fi
E2E="$TOP_SRCDIR/tests/bench/e2e.py"

expect_exit 0 "e2e.py --help" "$PY" "$E2E" --help
expect_grep "max_rel_err" "$WORK/out" "--help states the output contract"
expect_exit 2 "e2e.py --dry-run without the fake driver" env -u SPMMFARM_LIBCUDA "$PY" "$E2E" --dry-run --out "$WORK/x"
expect_exit 0 "e2e.py --dry-run" "$PY" "$E2E" --dry-run --out "$WORK/e2e" --work "$WORK/w"
cat "$WORK/out"
J="$WORK/e2e/llama-fp32-0.9.json"
[ "$(json_get "$J" 'all(k in d for k in ("model", "precision", "sparsity", "batch", "tokens", "dense_ms", "sparse_ms", "compile_ms", "speedup", "max_rel_err")) and d["dry_run"] and d["dense_ms"] is None')" = True ] \
    && pass "the LLaMA row has the output contract's keys, no timing (dry run)" || fail "LLaMA row: $(head -c 400 "$J")"
[ "$(json_get "$J" 'd["linear_layers"] == 14 and d["sparse_layers"] == 14 and d["output_shape"] == [2, 1, 64] and d["tuning"]["gpu_type"].startswith("sim/")')" = True ] \
    && pass "every linear layer of the decoder stack was tuned, exported and replaced" || fail "LLaMA layers"
[ "$(json_get "$J" 'd["linear_free_layers"] == 14')" = True ] \
    && pass "the linear-free model (the bound's floor) has every linear layer at zero cost" || fail "linear-free row"
if "$PY" -c 'import transformers' >/dev/null 2>&1; then
    [ "$(json_get "$WORK/e2e/bert-fp32-0.9.json" 'd["sparse_layers"] == d["linear_layers"] > 0')" = True ] \
        && pass "BERT (transformers) sparsified" || fail "BERT row"
else
    expect_grep "transformers is not installed: bert:fp32:0.9 skipped" "$WORK/out" "says transformers is missing"
fi
# the bf16 tier end to end: tuned (sim), exported with bf16 layers, replaced,
# launched with bf16 buffers (sfrt_launch_typed through the fake driver)
expect_exit 0 "llama in bf16" "$PY" "$E2E" --dry-run --out "$WORK/e2e" --work "$WORK/w" --only llama:bf16:0.9
[ "$(json_get "$WORK/e2e/llama-bf16-0.9.json" 'd["precision"] == "bf16" and d["sparsity"] == 0.9')" = True ] \
    && pass "the bf16 row is written" || fail "bf16 row: $(cat "$WORK/e2e/llama-bf16-0.9.json" 2>/dev/null | head -c 400)"
# the layouts (issue 23): nk by default (X in, Y out: no transposes), kn
# still runs (the module transposes around the kernel, and says so)
[ "$(json_get "$J" 'd["layout"] == "nk"')" = True ] && pass "the default layout is nk" || fail "layout of $J"
expect_exit 0 "llama in kn" "$PY" "$E2E" --dry-run --out "$WORK/kn" --work "$WORK/wkn" --only llama:fp32:0.9 --layout kn
[ "$(json_get "$WORK/kn/llama-fp32-0.9.json" 'd["layout"] == "kn" and d["sparse_layers"] == 14')" = True ] \
    && pass "kn: every layer replaced" || fail "kn row"
expect_grep "transposes" "$WORK/kn/e2e.log" "kn: the module says it transposes"
# a configuration that fails (import selects nothing) is written as
# failed-*.json with its error, and the run exits 1
expect_exit 1 "a configuration that fails" "$PY" "$E2E" --dry-run --out "$WORK/e2e" --work "$WORK/w2" \
    --only llama:bf16:0.7 --min-sparsity 0.99
[ "$(json_get "$WORK/e2e/failed-llama-bf16-0.7.json" '"spmmfarm import failed" in d["error"]')" = True ] \
    && pass "is written as failed-*.json with its error" || fail "failed row: $(cat "$WORK/e2e/failed-llama-bf16-0.7.json")"
# --deadline: a configuration whose estimate does not fit is not started
expect_exit 0 "--deadline" "$PY" "$E2E" --dry-run --out "$WORK/dl" --work "$WORK/w3" --only llama:fp32:0.9 \
    --deadline 30 --estimate llama:fp32=100
[ "$(json_get "$WORK/dl/skipped-llama-fp32-0.9.json" 'd["skipped"] == "deadline" and d["estimate_s"] == 100')" = True ] \
    && pass "skipped by the deadline, written as skipped-*.json" || fail "deadline: $(ls "$WORK/dl")"
# --deadline during tuning: the row is written as skipped-*.json (tuning
# that cannot end before the deadline less --tune-reserve is not started)
expect_exit 0 "--deadline during tuning" "$PY" "$E2E" --dry-run --out "$WORK/dl2" --work "$WORK/w5" \
    --only llama:fp32:0.9 --deadline 100 --estimate llama:fp32=0 --tune-reserve 100
[ "$(json_get "$WORK/dl2/skipped-llama-fp32-0.9.json" 'd["skipped"] == "deadline during tuning" and "not started" in d["reason"]')" = True ] \
    && pass "cut in tuning, written as skipped-*.json with the reason" || fail "cut row: $(cat "$WORK/dl2/"*.json 2>/dev/null | head -c 400)"
# and a command running at its timeout is stopped with its whole process
# group (local's workers are its children): nothing of it keeps running
cat > "$WORK/cut.py" <<'PYEOF'
import io, os, sys, time
sys.path.insert(0, sys.argv[1])
import e2e
t0 = time.time()
try:
    e2e.run_cmd(["sh", "-c", "sleep 60 & echo $! > %s; wait" % sys.argv[2]], "sleeper", io.StringIO(), timeout=2)
    sys.exit("run_cmd returned: no DeadlineCut")
except e2e.DeadlineCut as e:
    print(e)
pid = int(open(sys.argv[2]).read())
for _ in range(50):  # gone, or a zombie nobody reaps yet
    try:
        state = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        state = "gone"
    if state in ("gone", "Z", "X"):
        break
    time.sleep(0.1)
else:
    sys.exit("the command's child %d still runs (state %s)" % (pid, state))
sys.exit(0 if time.time() - t0 < 20 else "took %.0f s" % (time.time() - t0))
PYEOF
expect_exit 0 "run_cmd stops a command's process group at its timeout" "$PY" "$WORK/cut.py" \
    "$TOP_SRCDIR/tests/bench" "$WORK/sleeper.pid"
expect_grep "stopped at the deadline" "$WORK/out" "and says so"
# the GPU session's one call, as a dry run (its plumbing, its tarball)
expect_exit 0 "e2e-run.sh session --dry-run" env OUT="$WORK/sess" PY="$PY" E2E_NO_BUILD=1 PACK="$WORK/nopack" \
    sh "$TOP_SRCDIR/tests/bench/e2e-run.sh" session --dry-run --work "$WORK/w4"
tar tzf "$WORK/sess/e2e.tar.gz" > "$WORK/sess.list" 2>&1
expect_grep "e2e/llama-bf16-0.9.json" "$WORK/sess.list" "session: the LLaMA decode rows are in e2e.tar.gz"
expect_grep "e2e.py: " "$WORK/sess/session.txt" "session: its wall time is written"
finish
