#!/usr/bin/env python3
"""rank-topk.py DIR SCORES: what the rank strategy would have chosen with
other top-k settings, from a rank-eval run's recorded times (DIR/problems.jsonl:
every exhaustive full-kernel time and every proxy-strategy proxy time) and a
model's scores of every legal config (SCORES: tests/bench/rank_scores output
for the same model and problems); no GPU needed.

For k = 5 .. 32: "full" = the model's top k all compiled in full (what rank
does on small layers), the winner the best of their exhaustive times;
"proxies + F" = the top k's proxy times, the F fastest compiled in full.
Loss against the exhaustive best on the search basis (biased high against
rank-eval's paired losses: compare settings with each other). Cost = the
compile CPU-s those kernels took in the recorded searches; ratio = the
exhaustive search's compile CPU-s over it."""
import json
import statistics
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    rows = [json.loads(line) for line in open(sys.argv[1] + "/problems.jsonl")]
    scores = {}
    for line in open(sys.argv[2]):
        d = json.loads(line)
        scores[d["id"]] = sorted(d["configs"], key=lambda c: -c[1])
    ex_cost = sum(r[3] or 0 for d in rows for r in d["exhaustive"]["runs"])

    def run(k, finalists):
        losses, cost = [], 0.0
        for d in rows:
            top = [c[0] for c in scores[d["id"]][:k]]
            full = {r[0]: (r[2], r[3] or 0) for r in d["exhaustive"]["runs"] if r[1] == 0 and r[2] is not None}
            prox = {r[0]: (r[2], r[3] or 0) for r in d["proxy"]["runs"] if r[1] == 1 and r[2] is not None}
            if finalists is None:
                picks = [c for c in top if c in full]
            else:
                us = sorted((c for c in top if c.startswith("U") and c in prox), key=lambda c: prox[c][0])
                cost += sum(prox[c][1] for c in us)
                picks = [c for c in us[:finalists] + [c for c in top if c.startswith("D")] if c in full]
            cost += sum(full[c][1] for c in picks)
            times = [full[c][0] for c in picks]
            if d["exhaustive"]["config"] == "dense":
                times.append(d["exhaustive"]["us"])
            losses.append(min(times) / d["exhaustive"]["us"] - 1 if times else float("nan"))
        return losses, cost

    print("%d problems (search basis); exhaustive compile %.0f CPU-s" % (len(rows), ex_cost))
    for k in (5, 8, 10, 12, 16, 20, 24, 32):
        for name, f in (("full", None), ("proxies + 3", 3)):
            loss, cost = run(k, f)
            print("top %2d %-12s mean loss %5.1f %%  median %5.1f %%  max %5.1f %%  compile %6.1f s  ratio %4.0fx" % (
                k, name, 100 * statistics.mean(loss), 100 * statistics.median(loss), 100 * max(loss), cost,
                ex_cost / cost if cost else float("inf")))


main()
