#!/usr/bin/env python3
"""scaling.py JSONDIR GPUS OUT: scaling.json from two `spmmfarm local` runs of one
campaign (tests/gpu/device-run.sh scaling): JSONDIR/scale-w1.json (one worker,
GPU 0) and scale-wGPUS.json (one worker per GPU), with their stores' results
dumped to scale-w1-results.json / scale-wGPUS-results.json (JSON lines).

max_cross_gpu_time_diff: over the candidates both runs timed successfully
(same matrix, N, template, config, proxy flag) where the multi-GPU run timed
it on another GPU than 0, the largest |t_gpuI - t_gpu0| / t_gpu0; also its
median and the same figures for candidates that stayed on GPU 0 (the noise
floor of two runs on one GPU)."""
import json, os, statistics, sys

def results(path):
    out = {}
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        k, v = r["key"], r["value"]
        if v["status"] != 0 or v["us"] is None or v["simulated"] or k["template"] == "dense":
            continue
        gpu = v["worker"].split(":")[1] if v["worker"].count(":") >= 2 else "?"
        out[(k["matrix"], k["n"], k["template"], k["config"], k["proxy"])] = (v["us"], gpu)
    return out

def main():
    d, gpus, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    one = json.load(open("%s/scale-w1.json" % d))
    many = json.load(open("%s/scale-w%d.json" % (d, gpus)))
    r1 = results("%s/scale-w1-results.json" % d)
    rn = results("%s/scale-w%d-results.json" % (d, gpus))
    cross, same = [], []
    for key, (us1, g1) in r1.items():
        if key in rn:
            usn, gn = rn[key]
            diff = abs(usn - us1) / us1
            (same if gn == g1 else cross).append(diff)
    def stats(xs):
        xs = sorted(xs)
        return {"pairs": len(xs), "max": xs[-1] if xs else None,
                "median": statistics.median(xs) if xs else None,
                "p90": xs[int(0.9 * (len(xs) - 1))] if xs else None}
    res = {
        "gpus": gpus,
        "gpu_type": many.get("gpu_type"),
        "layers": len(many.get("layers", [])),
        "wall_s_1gpu": one["wall_s"],
        "wall_s_all": many["wall_s"],
        "speedup": one["wall_s"] / many["wall_s"],
        "efficiency": one["wall_s"] / many["wall_s"] / gpus,
        "candidates_1gpu": one["candidates"],
        "candidates_all": many["candidates"],
        "max_cross_gpu_time_diff": stats(cross)["max"],
        "cross_gpu": stats(cross),
        "same_gpu_two_runs": stats(same),
        "command": "tests/gpu/device-run.sh scaling (spmmfarm local --model MANIFEST --workers 1 %s, then --workers %d)"
                   % (os.environ.get("SF_SCALE_ARGS", ""), gpus),
        "compile_cpu_s_1gpu": one.get("compile_cpu_s"),
        "compile_cpu_s_all": many.get("compile_cpu_s"),
    }
    json.dump(res, open(out, "w"), indent=1)
    print(json.dumps(res, indent=1))

main()
