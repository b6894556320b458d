#!/usr/bin/env python3
"""What a bench run's speedup over SGEMM could be at best, per problem and in
geomean, and where its distance from that bound lies.

    tests/bench/bench-ceiling.py DIR/results.csv [--launch US] [--tflops T]
                                 [--tbs B] [--l2-tbs L] [--csv OUT.csv]

The realistic bound of a problem (issue 21; measured on the H100: an empty
kernel takes 0.8-1.1 us as a graph replay, a cold 1 MB in + 1 MB out copy
2.2 us, big copies reach 2.9-3.2 TB/s, so the launch/drain floor and the
memory time ADD):

    bound = launch + max(nnz multiply-adds at the FP32 peak (--tflops,
                         default 66.9, H100 SXM5),
                         B + C once through HBM at --tbs (default 3.0 TB/s))

`--tf32x3` takes the multiply-adds at 3xTF32's rate instead (a third of the
dense TF32 tensor-core peak, 494.7/3 TFLOP/s) where that is faster.

The L2 column says how many bytes per second through L2 a winner implies if
it reads a slice of B per nonzero (template D's rows kernel does: nnz * N *
4 bytes), against --l2-tbs (default 10 TB/s, about what the H100 sustains):
a ratio above 1 says the rows kernel is L2-bound by construction there.
These are bounds, not predictions: a kernel at all terms at once does not
exist. Per-problem distances go to --csv.
"""
import argparse, collections, csv, math, sys

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("csv")
p.add_argument("--launch", type=float, default=1.2, help="us added to every problem (default 1.2)")
p.add_argument("--tflops", type=float, default=66.9)
p.add_argument("--tbs", type=float, default=3.0)
p.add_argument("--l2-tbs", type=float, default=10.0)
p.add_argument("--tf32x3", action="store_true", help="multiply-adds at 3xTF32's rate (494.7/3 TFLOP/s)")
p.add_argument("--csv", dest="out", help="write every problem's bound and distance here")
a = p.parse_args()
rows = list(csv.DictReader(open(a.csv)))
if not rows:
    sys.exit("no problems in " + a.csv)
gm = lambda xs: math.exp(sum(map(math.log, xs)) / len(xs))
rate = max(a.tflops, 494.7 / 3) if a.tf32x3 else a.tflops
ceil, got, per = [], [], []
gap = collections.defaultdict(lambda: [0, 0.0])
for r in rows:
    m, k, n, nnz = (int(r[x]) for x in ("m", "k", "n", "nnz"))
    terms = {"fma": nnz * n * 2 / (rate * 1e6), "hbm": (k * n + m * n) * 4 / (a.tbs * 1e6)}
    kind = max(terms, key=terms.get)
    bound = a.launch + terms[kind]
    best, sgemm = float(r["best_us"]), float(r["sgemm_us"])
    l2 = nnz * n * 4 / (best * 1e6) / a.l2_tbs
    ceil.append(sgemm / bound)
    got.append(sgemm / best)
    size = "small" if sgemm < 10 else "mid/large"
    g = gap[(size, kind, r["template"])]
    g[0] += 1
    g[1] += math.log(best / bound)
    per.append({"id": r.get("id", ""), "template": r["template"], "best_us": best, "sgemm_us": sgemm,
                "bound_us": round(bound, 3), "bound_kind": kind, "distance": round(best / bound, 3),
                "bound_speedup_sgemm": round(sgemm / bound, 3), "l2_rows_ratio": round(l2, 3)})
print("problems %d; bound = %.2f us + max(FMAs at %.1f TFLOP/s, B + C at %.2f TB/s)"
      % (len(rows), a.launch, rate, a.tbs))
print("geomean speedup over SGEMM: measured %.2fx, realistic bound %.2fx (%.0f %% of it)"
      % (gm(got), gm(ceil), 100 * gm(got) / gm(ceil)))
near = sum(1 for x in per if x["distance"] <= 1.25)
print("within 1.25x of the bound: %d of %d problems" % (near, len(per)))
print("distance from the bound, by size (SGEMM < 10 us: small), bounding term and winner:")
total = sum(v[1] for v in gap.values()) or 1.0
for (size, kind, tmpl), (count, lg) in sorted(gap.items(), key=lambda x: -x[1][1]):
    print("  %-9s %-4s %-5s %3d problems: %.2fx from the bound each (geomean), %5.1f %% of the whole distance"
          % (size, kind, tmpl, count, math.exp(lg / count), 100 * lg / total))
d_rows = [x for x in per if x["template"] == "D"]
if d_rows:
    print("D winners' implied L2 traffic (rows kernel: nnz*N*4 bytes) / %.0f TB/s: median %.2f, max %.2f"
          % (a.l2_tbs, sorted(x["l2_rows_ratio"] for x in d_rows)[len(d_rows) // 2],
             max(x["l2_rows_ratio"] for x in d_rows)))
if a.out:
    with open(a.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(per[0]))
        w.writeheader()
        w.writerows(per)
