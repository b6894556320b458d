import json, sys
print("%-5s %-16s %8s %8s %8s | %-34s %8s %8s | %-32s %8s | %s" % ("tier", "MxKxN", "sgemm", "tf32", "blas16", "best wgmma", "us", "err", "best mma.sync", "us", "failed"))
for line in open(sys.argv[1]):
    try: d = json.loads(line)
    except ValueError: print("unparsed:", line[:200]); continue
    b = d["baselines"]; own = d.get("own", [])
    ok = [o for o in own if o["status"] == "ok"]
    wg = [o for o in ok if o["config"][:2] in ("wg", "wp", "ws")]; tc = [o for o in ok if o["config"][:2] == "tc"]
    bw = min(wg, key=lambda o: o["us"]) if wg else None; bt = min(tc, key=lambda o: o["us"]) if tc else None
    f = lambda v: "%8.2f" % v if v is not None else "%8s" % "-"
    bad = [o["config"] + ":" + o["status"] + ":" + o["detail"][:80] for o in own if o["status"] != "ok"]
    print("%-5s %-16s %s %s %s | %-34s %s %8s | %-32s %s | %s" % (d["tier"], "%dx%dx%d" % (d["m"], d["k"], d["n"]), f(b["sgemm_us"]), f(b["tf32_us"]), f(b["blas16_us"]),
          bw["config"] if bw else "-", f(bw["us"] if bw else None), "%.1e" % bw["err"] if bw else "-", bt["config"] if bt else "-", f(bt["us"] if bt else None), "; ".join(bad)))
    for o in own:
        print("      %-38s %-8s %8s %9s regs %3d" % (o["config"], o["status"], "%.2f" % o["us"] if o["us"] is not None else "-", "%.2e" % o["err"] if o["err"] is not None else "-", o["regs"]))
