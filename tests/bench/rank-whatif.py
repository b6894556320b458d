#!/usr/bin/env python3
"""rank-whatif.py DIR: what other rank settings would have chosen, from the
times a rank-eval run recorded (DIR/problems.jsonl, every candidate's time
per strategy in `runs`); no GPU needed.

For F = 1, 2, 3, 5, 10 finalists: rank's top-k proxies ordered by their
proxy times, the F fastest "compiled in full", and the winner the fastest
of those and the D candidates by the exhaustive search's own full-kernel
times. Loss = that time over the exhaustive best, minus 1 (search basis:
the exhaustive best is the minimum of many noisy timings, so these losses
are biased high against rank-eval's paired losses; compare them with each
other, not with rank.json). Also the "oracle" loss of the top k: the best
exhaustive time among all k configs the model chose.
"""
import json
import statistics
import sys


def whatif(rows, finalists):
    losses = []
    for d in rows:
        full = {r[0]: r[2] for r in d["exhaustive"]["runs"] if r[1] == 0 and r[2] is not None}
        best = d["exhaustive"]["us"]
        runs = d["rank"]["runs"]
        proxies = sorted((r for r in runs if r[1] == 1 and r[2] is not None), key=lambda r: r[2])
        picks = [r[0] for r in proxies[:finalists]] + [r[0] for r in runs if r[0].startswith("D")]
        if finalists is None:  # oracle: every config of the top k
            picks = [r[0] for r in runs]
        times = [full[c] for c in picks if c in full]
        if best == d["exhaustive"].get("sgemm_us") or d["exhaustive"]["config"] == "dense":
            times.append(best)  # dense is always measured
        losses.append(min(times) / best - 1 if times else float("nan"))
    return losses


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rows = [json.loads(line) for line in open(sys.argv[1] + "/problems.jsonl")]
    if not rows or "runs" not in rows[0]["rank"]:
        sys.exit("%s: no recorded runs (rank-eval before session 5)" % sys.argv[1])
    if not any(r[1] == 1 for d in rows for r in d["rank"]["runs"]):
        # small layers: rank timed its top k in full (session 6), no finalists
        loss = whatif(rows, None)
        print("%d problems: rank timed full kernels, no proxy: best of its top k (search basis) "
              "mean loss %.1f %%, median %.1f %%" % (len(rows), 100 * statistics.mean(loss),
                                                       100 * statistics.median(loss)))
        return
    print("%d problems (search-time basis)" % len(rows))
    for f in (1, 2, 3, 5, 10, None):
        loss = whatif(rows, f)
        name = "top-k oracle" if f is None else "%d finalist%s" % (f, "" if f == 1 else "s")
        print("%-14s mean loss %5.1f %%  median %5.1f %%" % (name, 100 * statistics.mean(loss),
                                                           100 * statistics.median(loss)))


if __name__ == "__main__":
    main()
