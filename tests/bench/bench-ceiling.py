#!/usr/bin/env python3
"""What a bench run's speedup over SGEMM could be at best, per problem and in
geomean, and where its distance from that bound lies.

    tests/bench/bench-ceiling.py DIR/results.csv [--floor US] [--tflops T] [--tbs B]

A problem's time cannot be below the largest of: the shortest time any kernel
of the run took (launch and event overhead: --floor, default the run's
minimum), its multiply-adds at the FP32 peak (--tflops, default 66.9, H100
SXM5), and one pass over B and C in HBM (--tbs, default 3.35 TB/s). These are
bounds, not predictions: a kernel at all three at once does not exist.
"""
import argparse, collections, csv, math, sys

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("csv")
p.add_argument("--floor", type=float, help="us; default: the run's shortest time")
p.add_argument("--tflops", type=float, default=66.9)
p.add_argument("--tbs", type=float, default=3.35)
a = p.parse_args()
rows = list(csv.DictReader(open(a.csv)))
if not rows:
    sys.exit("no problems in " + a.csv)
floor = a.floor or min(min(float(r["best_us"]), float(r["sgemm_us"])) for r in rows)
gm = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs))
ceil, got = [], []
gap = collections.defaultdict(lambda: [0, 0.0])
for r in rows:
    m, k, n, nnz = (int(r[x]) for x in ("m", "k", "n", "nnz"))
    bounds = {"launch": floor, "fp32": nnz * n * 2 / (a.tflops * 1e6),
              "hbm": (k * n + m * n) * 4 / (a.tbs * 1e6)}
    kind = max(bounds, key=bounds.get)
    best, sgemm = float(r["best_us"]), float(r["sgemm_us"])
    ceil.append(sgemm / bounds[kind])
    got.append(sgemm / best)
    g = gap[(kind, r["template"])]
    g[0] += 1
    g[1] += math.log(best / bounds[kind])
print("problems %d, floor %.2f us, FP32 %.1f TFLOPS, HBM %.2f TB/s" % (len(rows), floor, a.tflops, a.tbs))
print("geomean speedup over SGEMM: measured %.2fx, bound %.2fx" % (gm(got), gm(ceil)))
print("distance from the bound, by what bounds the problem and who won it:")
total = sum(v[1] for v in gap.values())
for (kind, tmpl), (count, lg) in sorted(gap.items(), key=lambda x: -x[1][1]):
    print("  %-6s %-5s %3d problems: %.2fx from the bound each (geomean), %4.1f %% of the whole distance"
          % (kind, tmpl, count, math.exp(lg / count), 100 * lg / total))
