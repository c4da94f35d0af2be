#!/usr/bin/env python3
"""make bench's report: min/median/max per point, stack/direct ratios,
the issue's targets checked, and a JSON file of everything."""
import json
import statistics
import sys
from collections import OrderedDict

raw, out = sys.argv[1], sys.argv[2]
points = OrderedDict()
with open(raw) as f:
    for line in f:
        line = line.strip()
        if line:
            rec = json.loads(line)
            points.setdefault(rec["point"], []).append(rec["result"])

METRICS = ["iops", "mbps", "lat_mean_us", "lat_p99_us", "self_cpu_us_per_cmd",
           "backend_cpu_us_per_cmd", "backend_rss_kb"]


def stats(results, key):
    vals = [r[key] for r in results if key in r]
    if not vals:
        return None
    return {"min": min(vals), "median": statistics.median(vals), "max": max(vals), "n": len(vals)}


summary = OrderedDict()
for name, results in points.items():
    summary[name] = {k: stats(results, k) for k in METRICS + ["backend_cpu_pct"]}
    summary[name] = {k: v for k, v in summary[name].items() if v}


def med(name, key):
    s = summary.get(name, {}).get(key)
    return s["median"] if s else None


def fmt(s, digits=0):
    if not s:
        return "-"
    f = "{:.%df}" % digits
    return "%s/%s/%s" % (f.format(s["min"]), f.format(s["median"]), f.format(s["max"]))


print()
print("%-32s %-26s %-20s %-20s %-18s %-14s %-14s" % (
    "point (min/median/max)", "IOPS", "MB/s", "mean lat us", "p99 lat us", "fe CPU us/cmd", "be CPU us/cmd"))
for name, s in summary.items():
    if name.startswith("idle"):
        continue
    print("%-32s %-26s %-20s %-20s %-18s %-14s %-14s" % (
        name, fmt(s.get("iops")), fmt(s.get("mbps")), fmt(s.get("lat_mean_us"), 1),
        fmt(s.get("lat_p99_us"), 1), fmt(s.get("self_cpu_us_per_cmd"), 2),
        fmt(s.get("backend_cpu_us_per_cmd"), 2)))

print()
print("%-28s %12s %12s %10s %14s %14s" % ("stack / direct (medians)", "IOPS", "MB/s", "ratio", "+mean lat us", "+p99 lat us"))
ratios = OrderedDict()
for name in summary:
    if not name.startswith("direct "):
        continue
    w = name[len("direct "):]
    sname = "stack " + w
    if sname not in summary:
        continue
    d_iops, s_iops = med(name, "iops"), med(sname, "iops")
    d_mb, s_mb = med(name, "mbps"), med(sname, "mbps")
    ratio = s_iops / d_iops if d_iops else 0
    dlat = med(sname, "lat_mean_us") - med(name, "lat_mean_us")
    dp99 = med(sname, "lat_p99_us") - med(name, "lat_p99_us")
    ratios[w] = {"iops_ratio": ratio, "added_mean_latency_us": dlat, "added_p99_latency_us": dp99}
    print("%-28s %5.0f/%-6.0f %5.0f/%-6.0f %10.3f %14.1f %14.1f" % (w, s_iops, d_iops, s_mb, d_mb, ratio, dlat, dp99))

print()
print("targets (issue 7):")
checks = []


def check(label, ok, detail):
    checks.append({"target": label, "met": bool(ok), "detail": detail})
    print("  [%s] %s: %s" % ("met" if ok else "MISSED", label, detail))


r = ratios.get("randread 4096 qd16")
if r:
    check("4K randread QD16 stack >= 0.95 x direct", r["iops_ratio"] >= 0.95, "%.3f" % r["iops_ratio"])
r = ratios.get("randread 4096 qd1")
if r:
    check("4K randread QD1 adds <= 10 us mean latency", r["added_mean_latency_us"] <= 10,
          "%+.1f us" % r["added_mean_latency_us"])
v = med("ring tur 0 qd16", "iops")
if v:
    check("ring only, no data >= 2 M commands/s", v >= 2e6, "%.0f/s" % v)
v = med("ring randread 4096 qd16", "iops")
if v:
    check("ring only, 4 KiB >= 1 M commands/s", v >= 1e6, "%.0f/s" % v)
r = ratios.get("read 1048576 qd8")
if r:
    check("1 MiB seq read stack >= 0.9 x direct", r["iops_ratio"] >= 0.9, "%.3f" % r["iops_ratio"])
cpu = {n: med("vhosts %d randread 4096 qd4" % n, "backend_cpu_us_per_cmd") for n in (1, 4, 16, 64)}
if all(cpu.values()):
    spread = max(cpu.values()) / min(cpu.values()) - 1
    check("1 -> 64 vhosts: backend CPU/cmd within +-10 %", spread <= 0.10,
          ", ".join("%d: %.2f us" % (n, c) for n, c in cpu.items()))
rss1, rss64 = med("vhosts 1 randread 4096 qd4", "backend_rss_kb"), med("vhosts 64 randread 4096 qd4", "backend_rss_kb")
if rss1 and rss64:
    per = (rss64 - rss1) / 63
    check("RSS <= 256 KiB per vhost", per <= 256, "%.0f KiB per vhost" % per)
idle = med("idle 64 vhosts", "backend_cpu_pct")
if idle is not None:
    check("idle daemon with 64 vhosts < 1 % CPU", idle < 1.0, "%.2f %%" % idle)

with open(out, "w") as f:
    json.dump({"points": summary, "ratios": ratios, "targets": checks}, f, indent=2)
print()
print("results: %s (raw runs: %s)" % (out, raw))
