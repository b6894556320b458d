#!/bin/sh
# The rank model end to end on the sim backend: sweep-local (a tiny sweep)
# -> train -> tune-local and bench --strategy rank -> rank-eval on a tiny
# suite. Compiles are real (nvJitLink on the CPU), times simulated.
. "$(dirname "$0")/testlib.sh"

SWEEP="$TOP_SRCDIR/tests/data/sweep-tiny.conf"
SUITE="$TOP_SRCDIR/tests/data/suite-tiny.conf"
STORE="$WORK/store"
SIM=sim/h100-model/132sm
REAL="NVIDIA H100 80GB HBM3/sm_90/132sm"
check () { [ "$(json_get "$1" "$2")" = True ] && pass "$3" || fail "$3"; }

# ---- sweep-local: the sweep's problems into the store, resumable
expect_exit 0 "sweep-local runs the tiny sweep (sim)" \
    "$SPMMFARM" sweep-local --sweep "$SWEEP" --backend sim --store "$STORE" --compile-threads 2 --json -q
cp "$WORK/out" "$WORK/sweep.json"
check "$WORK/sweep.json" 'd["measured"] == 8 and d["candidates"] == 48 and d["complete"]' "every problem measured"
check "$WORK/sweep.json" 'd["simulated"] and d["gpu_type"] == "'$SIM'"' "labelled simulated, under the sim GPU type"
expect_exit 0 "sweep-local again" "$SPMMFARM" sweep-local --sweep "$SWEEP" --backend sim --store "$STORE" --json -q
check "$WORK/out" 'd["measured"] == 0 and d["already_stored"] == 8' "a second run measures nothing again"
expect_exit 0 "store dump of the sweep" "$SPMMFARM" store dump "$STORE" --db campaigns
expect_grep 'strategy=sweep' "$WORK/out" "the sweep is a campaign of strategy sweep"
expect_exit 0 "sweep-local --estimate" "$SPMMFARM" sweep-local --sweep "$SWEEP" --backend sim --estimate \
    --compile-threads 16 --json
check "$WORK/out" 'd["candidates"] == 48 and d["wall_s"] > 0 and d["compile_cpu_s"] > 0' "an estimate of the sweep"
expect_exit 0 "estimate of the default sweep" "$SPMMFARM" sweep-local \
    --sweep "$TOP_SRCDIR/conf/sweeps/default.conf" --backend sim --estimate --compile-threads 16 --json
check "$WORK/out" 'd["wall_s"] < 20 * 60' "the default sweep is estimated under 20 minutes on 16 threads"
expect_exit 2 "sweep-local without --sweep" "$SPMMFARM" sweep-local --backend sim
expect_exit 2 "sweep-local on a missing sweep" "$SPMMFARM" sweep-local --sweep "$WORK/none.conf" --backend sim

# ---- train: a model of the sim type; the real type has no data
expect_exit 0 "train the sim type" "$SPMMFARM" train --store "$STORE" --gpu-type $SIM -o "$WORK/model.json" --json
cp "$WORK/out" "$WORK/train.json"
check "$WORK/train.json" 'd["version"] == 1 and d["problems"] == 8 and d["candidates"] == 48' "model 1: 8 problems, 48 candidates"
check "$WORK/train.json" '0 <= d["train"]["recall_at_k"] <= 1 and d["holdout"]["problems"] >= 1' "with metrics"
check "$WORK/train.json" 'd["train"]["recall_at_k"] > d["train"]["random_recall_at_k"] or d["train"]["random_recall_at_k"] == 1' "better than a random order on its training set"
[ "$(head -c 11 "$WORK/model.json")" = '{"learner":' ] && pass "-o writes XGBoost JSON" || fail "-o writes XGBoost JSON"
expect_exit 0 "train again" "$SPMMFARM" train --store "$STORE" --gpu-type $SIM --note again
expect_grep "rank model 2 of $SIM" "$WORK/out" "the next version"
expect_exit 0 "models in the store" "$SPMMFARM" store dump "$STORE" --db models
expect_grep "v2: .*note=again" "$WORK/out" "both versions stored"
expect_exit 2 "simulated results never train a real GPU type" "$SPMMFARM" train --store "$STORE" --gpu-type "$REAL"
expect_grep "simulated results never count" "$WORK/err" "and it says why"
expect_exit 2 "train --coordinator with --store" "$SPMMFARM" train --coordinator tcp://127.0.0.1:5556 \
    --sweep "$SWEEP" --gpu-type $SIM --store "$STORE"
expect_grep "coordinator trains with its built-in settings" "$WORK/err" "says the farm's form has its own store"
expect_exit 2 "train with a bad GPU type" "$SPMMFARM" train --store "$STORE" --gpu-type nonsense
expect_exit 2 "train on no store" "$SPMMFARM" train --store "$WORK/nostore" --gpu-type $SIM

# ---- the rank strategy
"$SPMMFARM" gen --m 64 --k 48 --sparsity 0.8 --seed 5 -o "$WORK/l.mtx" >/dev/null
expect_exit 0 "tune-local --strategy rank (store)" "$SPMMFARM" tune-local "$WORK/l.mtx" --n 2048 --backend sim \
    --strategy rank --model "$STORE" --templates U --top-k 4 --json -q
cp "$WORK/out" "$WORK/rank.json"
check "$WORK/rank.json" 'd["strategy"] == "rank" and not d["search"]["rank_fallback"]' "ranked by the model"
check "$WORK/rank.json" 'd["search"]["ranked"] == d["search"]["legal"] and d["search"]["top_k"] == 4' "every legal config scored"
# a model file says its GPU type: the committed H100 model ranks for no sim GPU
expect_exit 2 "tune-local --model FILE of another GPU type" "$SPMMFARM" tune-local "$WORK/l.mtx" --n 2048 \
    --backend sim --strategy rank --model "$TOP_SRCDIR/docs/bench/h100/rank/model.json" --no-store -q
expect_grep "a rank model of NVIDIA H100 80GB HBM3/sm_90/132sm, not of this GPU type" "$WORK/err" \
    "says whose model it is"
# a small layer (614 nonzeros <= 2048): the top 4 timed as full kernels, no proxy
check "$WORK/rank.json" 'sum(1 for c in d["candidates"] if c["proxy"]) == 0 and sum(1 for c in d["candidates"] if c["config"].startswith("U") and not c["proxy"]) == 4' "a small layer: top 4 timed in full, no proxy"
# a larger one (2,765 nonzeros): the top 4 as proxies, the 3 fastest in full
"$SPMMFARM" gen --m 96 --k 96 --sparsity 0.7 --seed 5 -o "$WORK/big.mtx" >/dev/null
expect_exit 0 "tune-local --strategy rank, a larger layer" "$SPMMFARM" tune-local "$WORK/big.mtx" --n 2048 --backend sim \
    --strategy rank --model "$STORE" --templates U --top-k 4 --json -q
check "$WORK/out" 'sum(1 for c in d["candidates"] if c["proxy"]) == 4 and sum(1 for c in d["candidates"] if c["config"].startswith("U") and not c["proxy"]) == 3' "top 4 timed as proxies, the 3 fastest in full"
expect_exit 0 "tune-local --strategy rank (model file)" "$SPMMFARM" tune-local "$WORK/l.mtx" --n 2048 \
    --backend sim --strategy rank --model "$WORK/model.json" --templates U --top-k 2 -q
expect_grep "the model scored [0-9]+ configs, the top 2 were timed" "$WORK/out" "text output tells the ranking"
expect_exit 0 "rank without a model falls back" env SPMMFARM_STORE="$WORK/empty" "$SPMMFARM" tune-local \
    "$WORK/l.mtx" --n 2048 --backend sim --strategy rank --templates U --max-configs 2 --json -q
check "$WORK/out" 'd["search"]["rank_fallback"]' "the search ran proxy"
expect_grep "falls back to proxy" "$WORK/err" "and the program says so"
expect_exit 2 "rank with a missing model file" "$SPMMFARM" tune-local "$WORK/l.mtx" --n 2048 --backend sim \
    --strategy rank --model "$WORK/none.json" -q
expect_exit 0 "bench --strategy rank" "$SPMMFARM" bench --suite "$SUITE" --filter 'id=a@0.7' -o "$WORK/bench" \
    --backend sim --strategy rank --model "$STORE" --templates U --top-k 3 -q
check "$WORK/bench/summary.json" 'd["strategy"] == "rank" and d["problems"] == 1' "bench summary of a rank run"
check "$WORK/bench/summary.json" 'd["timing"] == "simulated"' "summary: a sim run's times say they are simulated"
[ "$(sed -n 2p "$WORK/bench/results.csv" | cut -d, -f1,5)" = "a@0.7,0.7" ] && pass "results.csv: the problem's row" \
    || fail "results.csv: the problem's row"
# the chart plots the sparsities present; its script holds its data (the problem's id)
expect_grep "^titles = \"0.7\"\$" "$WORK/bench/chart.gp" "chart.gp: one series per sparsity present"
expect_grep "^1 [0-9.e+-]+ \"a@0.7\" 1\$" "$WORK/bench/chart.gp" "chart.gp: the problem's id and speedup"
expect_grep "SIMULATED" "$WORK/bench/chart.gp" "chart.gp: a sim run's chart says so"
[ -s "$WORK/bench/chart.png" ] && pass "chart.png drawn (gnuplot)" || fail "chart.png drawn (gnuplot)"

# ---- --rank-model: submit and local carry a model of their own (tune-local's
# --model) in the SUBMIT; the coordinator's store has none, so a campaign that
# ranks (no fallback) ranked with the client's model
H100_MODEL="$TOP_SRCDIR/docs/bench/h100/rank/model.json"
expect_exit 2 "local --rank-model with --strategy proxy" "$SPMMFARM" local "$WORK/l.mtx" --n 1024 --backend sim \
    --store "$WORK/lstore" --strategy proxy --rank-model "$WORK/model.json" -q
expect_grep "rank strategy's model, not proxy's" "$WORK/err" "local says --rank-model is rank's"
expect_exit 2 "local --rank-model of another GPU type" "$SPMMFARM" local "$WORK/l.mtx" --n 1024 --backend sim \
    --store "$WORK/lstore" --rank-model "$H100_MODEL" -q
expect_grep "not of this GPU type \($SIM\)" "$WORK/err" "local says whose model it is"
expect_exit 0 "local --rank-model FILE (an empty store)" "$SPMMFARM" local "$WORK/l.mtx" --n 1024 --backend sim \
    --store "$WORK/lstore" --rank-model "$WORK/model.json" --top-k 2 --compile-threads 2 --json -q
check "$WORK/out" 'd["strategy"] == "rank" and d["model_version"] == 1 and not d["fallback"]' \
    "local ranked with the file's model (version 1), the store has none"
expect_exit 0 "local --rank-model STORE" "$SPMMFARM" local "$WORK/big.mtx" --n 1024 --backend sim \
    --store "$WORK/lstore" --rank-model "$STORE" --top-k 2 --compile-threads 2 --json -q
check "$WORK/out" 'd["strategy"] == "rank" and d["model_version"] == 2 and not d["fallback"]' \
    "local ranked with the other store's latest model (version 2)"

port=$((20000 + ($$ + 4099) % 20000))
WEP=tcp://127.0.0.1:$port CEP=tcp://127.0.0.1:$((port + 1))
"$SPMMFARM" coordinator --store "$WORK/cstore" --workers $WEP --clients $CEP --heartbeat-ms 200 \
    2>>"$WORK/coord.log" &
COORD=$!
"$SPMMFARM" worker --connect $WEP --backend sim --compile-threads 2 2>>"$WORK/worker.log" &
WORKER=$!
sleep 0.5
expect_exit 2 "submit --rank-model of another GPU type" "$SPMMFARM" submit "$WORK/l.mtx" --n 1024 \
    --gpu-type $SIM --rank-model "$H100_MODEL" --coordinator $CEP
expect_grep "not of this GPU type \($SIM\)" "$WORK/err" "submit says whose model it is"
expect_exit 2 "submit --rank-model STORE without --gpu-type" "$SPMMFARM" submit "$WORK/l.mtx" --n 1024 \
    --rank-model "$STORE" --coordinator $CEP
expect_grep "name the campaign's GPU type" "$WORK/err" "submit asks for the GPU type"
expect_exit 2 "submit --rank-model with --strategy sweep" "$SPMMFARM" submit "$WORK/l.mtx" --n 1024 \
    --strategy sweep --gpu-type $SIM --rank-model "$WORK/model.json" --coordinator $CEP
expect_exit 2 "submit --rank-model of a missing file" "$SPMMFARM" submit "$WORK/l.mtx" --n 1024 \
    --rank-model "$WORK/none.json" --coordinator $CEP
expect_exit 0 "submit --rank-model FILE" "$SPMMFARM" submit "$WORK/l.mtx" --n 1024 --top-k 2 \
    --rank-model "$WORK/model.json" --coordinator $CEP --json
id=$(json_get "$WORK/out" 'd["campaign"]')
for i in $(seq 1 300); do
    "$SPMMFARM" status "$id" --coordinator $CEP --json > "$WORK/st.json" 2>/dev/null &&
        state=$(json_get "$WORK/st.json" 'd["campaigns"][0]["state"]') &&
        [ "$state" != queued ] && [ "$state" != running ] && break
    sleep 0.2
done
check "$WORK/st.json" 'd["campaigns"][0]["state"] == "done" and d["campaigns"][0]["strategy"] == "rank"' \
    "the submitted campaign ran rank"
check "$WORK/st.json" 'd["campaigns"][0]["model_version"] == 1 and not d["campaigns"][0]["fallback"]' \
    "with the client's model (version 1; the coordinator's store has none)"
kill $WORKER $COORD 2>/dev/null
wait $WORKER $COORD 2>/dev/null
expect_exit 0 "the coordinator's store" "$SPMMFARM" store dump "$WORK/cstore" --db models
[ ! -s "$WORK/out" ] && pass "holds no model of its own" || fail "holds no model of its own"

# ---- rank-eval: rank vs proxy vs exhaustive on problems never trained on
expect_exit 0 "rank-eval on the tiny suite" "$SPMMFARM" rank-eval --store "$STORE" --gpu-type $SIM \
    --suite "$SUITE" -o "$WORK/eval" --backend sim --templates U --max-configs 6 --top-k 3 -q
R="$WORK/eval/rank.json"
[ -s "$WORK/eval/rank.png" ] && pass "rank.png drawn: cost vs loss per strategy" || fail "rank.png drawn"
expect_grep "SIMULATED" "$WORK/eval/rank.gp" "rank.gp: a sim run's picture says so"
for key in gpu_type problems top_k recall_at_k median_winner_loss mean_winner_loss \
           cost_ratio_vs_exhaustive cost_ratio_vs_proxy training; do
    check "$R" "'$key' in d" "rank.json has $key"
done
check "$R" 'd["problems"] == 4 and d["top_k"] == 3 and d["gpu_type"] == "'$SIM'"' "4 problems, top 3"
check "$R" 'd["training"]["problems"] == 8 and d["training"]["candidates"] == 48' "the model's training set"
check "$R" 'd["cost_ratio_vs_exhaustive"] > 1 and 0 <= d["recall_at_k"] <= 1' "rank costs less than exhaustive"
check "$R" 'd["mean_winner_loss"] >= 0 and sorted(d["by_sparsity"]) == ["0.7", "0.9"]' "losses, per sparsity"
[ "$(wc -l < "$WORK/eval/rank.csv")" -eq 5 ] && pass "rank.csv: a row per problem" || fail "rank.csv rows"
expect_exit 0 "rank-eval resumes" "$SPMMFARM" rank-eval --store "$STORE" --gpu-type $SIM \
    --suite "$SUITE" -o "$WORK/eval" --backend sim --templates U --max-configs 6 --top-k 3
expect_grep "4 problem\(s\) already" "$WORK/err" "nothing run again"
# --reuse: exhaustive and proxy taken from the run above, rank searched again
# (a new model's evaluation at the cost of rank alone)
expect_exit 0 "rank-eval --reuse" "$SPMMFARM" rank-eval --store "$STORE" --gpu-type $SIM \
    --suite "$SUITE" -o "$WORK/eval-reuse" --reuse "$WORK/eval" --backend sim --templates U \
    --max-configs 6 --top-k 3 -q
check "$WORK/eval-reuse/rank.json" 'd["problems"] == 4 and d["reused_from"].endswith("eval")' \
    "every problem evaluated, the source named"
python3 - "$WORK/eval/problems.jsonl" "$WORK/eval-reuse/problems.jsonl" > "$WORK/reuse.txt" <<'PY'
import json, sys
old = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
new = [json.loads(l) for l in open(sys.argv[2])]
for r in new:
    o = old[r["id"]]
    same = all(r[s][k] == o[s][k] for s in ("exhaustive", "proxy")
               for k in ("config", "compile_cpu_s", "gpu_s", "runs"))
    print(r["id"], r.get("reused"), same, r["rank"]["config"] == o["rank"]["config"],
          # runs keep times to 1 ns: the loss agrees to that
          abs(r["rank"]["winner_loss"] - o["rank"]["winner_loss"]) < 1e-3)
PY
[ "$(grep -c ' True True True True$' "$WORK/reuse.txt")" = 4 ] \
    && pass "exhaustive and proxy (winner, costs, runs) are the earlier run's; rank, searched again, agrees (sim)" \
    || fail "reused records: $(cat "$WORK/reuse.txt")"
# a layer whose winners are generated kernels: --reuse compiles them again
cat > "$WORK/suite-u.conf" <<'EOF'
suite
    name = one-u
    description = "a layer where U wins (sim)"
    sparsities = "0.98"
    seed_base = 100
shape
    id = u
    m = 256
    k = 256
    n = 4096
    source = "cli_rank.sh"
EOF
for d in eval-u eval-u2; do
    expect_exit 0 "rank-eval ($d)" "$SPMMFARM" rank-eval --store "$STORE" --gpu-type $SIM \
        --suite "$WORK/suite-u.conf" -o "$WORK/$d" --backend sim --max-configs 3 --top-k 3 -q \
        $([ $d = eval-u2 ] && echo --reuse "$WORK/eval-u")
done
check "$WORK/eval-u2/problems.jsonl" 'd["reused"] and d["exhaustive"]["config"].startswith(("U:", "D:")) and d["rank"]["winner_loss"] >= 0' \
    "a generated winner is compiled again and the loss computed"
expect_exit 2 "rank-eval --reuse with other search options" "$SPMMFARM" rank-eval --store "$STORE" \
    --gpu-type $SIM --suite "$SUITE" -o "$WORK/eval5" --reuse "$WORK/eval" --backend sim --templates U \
    --max-configs 4 --top-k 3 -q
expect_grep "searched with templates=U max-configs=6 .*this run searches with templates=U max-configs=4" \
    "$WORK/err" "says which options differ"
[ ! -e "$WORK/eval5/problems.jsonl" ] && pass "nothing was run" || fail "nothing was run"
expect_exit 2 "rank-eval --reuse of a folder without records" "$SPMMFARM" rank-eval --store "$STORE" \
    --gpu-type $SIM --suite "$SUITE" -o "$WORK/eval4" --reuse "$WORK/nostore" --backend sim -q
expect_grep "no such file|problems.jsonl" "$WORK/err" "says which file is missing"
expect_exit 2 "rank-eval of another GPU type" "$SPMMFARM" rank-eval --store "$STORE" --gpu-type "$REAL" \
    --suite "$SUITE" -o "$WORK/eval2" --backend sim
expect_exit 2 "rank-eval without a model" "$SPMMFARM" rank-eval --store "$WORK/nostore" --suite "$SUITE" \
    -o "$WORK/eval3" --backend sim
expect_exit 2 "rank-eval --strategy" "$SPMMFARM" rank-eval --store "$STORE" --suite "$SUITE" -o "$WORK/e" \
    --strategy proxy
for cmd in sweep-local train rank-eval; do
    expect_exit 0 "$cmd --help" "$SPMMFARM" $cmd --help
done
finish
