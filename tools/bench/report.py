#!/usr/bin/env python3
"""make bench's report: min/median/max per point, each direct/stack pair's
ratio with its spread over the pairs, the targets checked, a JSON file of
everything and a plot (gnuplot).

    report.py RAW.jsonl RESULTS.json PLOT.png
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
from collections import OrderedDict

raw, out, png = sys.argv[1], sys.argv[2], sys.argv[3]

# A 16-slot ring of vscsiif's geometry between two processes that both
# busy-poll moves about 7.6 M request/response pairs per second on the
# 2-core VMs this project is measured on (no data, no notification): the
# most any ring-only figure here can reach.
POLLED_RING_LIMIT = 7.6e6
# A run during which the machine spent more than this share of all its
# cores on anything but the path measured is not comparable.
BUSY_PCT = 10.0

points = OrderedDict()
with open(raw) as f:
    for line in f:
        line = line.strip()
        if line:
            rec = json.loads(line)
            points.setdefault(rec["point"], {})[rec["run"]] = rec["result"]

METRICS = ["iops", "mbps", "lat_mean_us", "lat_p99_us", "self_cpu_us_per_cmd",
           "backend_cpu_us_per_cmd", "backend_rss_kb", "other_cpu_pct", "backend_cpu_pct",
           "backend_pss_kb", "backend_pss_kb_per_guest", "workers"]


def stats(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return None
    return {"min": min(vals), "median": statistics.median(vals), "max": max(vals), "n": len(vals)}


summary = OrderedDict()
for name, runs in points.items():
    s = {k: stats([r.get(k) for r in runs.values()]) for k in METRICS}
    summary[name] = {k: v for k, v in s.items() if v}


def med(name, key):
    s = summary.get(name, {}).get(key)
    return s["median"] if s else None


def fmt(s, digits=0):
    if not s:
        return "-"
    f = "{:.%df}" % digits
    return "%s/%s/%s" % (f.format(s["min"]), f.format(s["median"]), f.format(s["max"]))


print()
print("%-30s %-24s %-16s %-18s %-18s %-14s %-14s %-9s" % (
    "point (min/median/max)", "IOPS", "MB/s", "mean lat us", "p99 lat us", "fe CPU us/cmd",
    "be CPU us/cmd", "other %"))
for name, s in summary.items():
    if name.startswith("idle") or name.endswith(" guests"):
        continue
    print("%-30s %-24s %-16s %-18s %-18s %-14s %-14s %-9s" % (
        name, fmt(s.get("iops")), fmt(s.get("mbps")), fmt(s.get("lat_mean_us"), 1),
        fmt(s.get("lat_p99_us"), 1), fmt(s.get("self_cpu_us_per_cmd"), 2),
        fmt(s.get("backend_cpu_us_per_cmd"), 2), fmt(s.get("other_cpu_pct"), 1)))

# Pairs: direct run r and stack run r ran one after the other.
print()
print("stack / direct, per pair of runs (min/median/max over the pairs)")
print("%-34s %-20s %-20s %-14s %-14s %-20s %s" % (
    "workload", "IOPS ratio", "be CPU / direct CPU", "+mean lat us", "+p99 lat us",
    "stack/direct IOPS", "machine"))


def pair_ratios(w, druns, eng):
    sruns = points.get("%s %s" % (eng, w))
    if not sruns:
        return
    name = "direct " + w
    key = {"stack": w, "stack-gc": "%s (grant copy)" % w, "stack-poll": "%s (polling client)" % w}[eng]
    both = sorted(set(druns) & set(sruns))
    per = {"iops": [], "cpu": [], "lat": [], "p99": []}
    busy = []
    for r in both:
        d, s = druns[r], sruns[r]
        if d.get("iops"):
            per["iops"].append(s["iops"] / d["iops"])
        if d.get("self_cpu_us_per_cmd"):
            per["cpu"].append(s["backend_cpu_us_per_cmd"] / d["self_cpu_us_per_cmd"])
        per["lat"].append(s["lat_mean_us"] - d["lat_mean_us"])
        per["p99"].append(s["lat_p99_us"] - d["lat_p99_us"])
        for rec in (d, s):
            if rec.get("other_cpu_pct", 0) > BUSY_PCT:
                busy.append("run %d: %.0f %% other" % (r, rec["other_cpu_pct"]))
    entry = {k: stats(v) for k, v in per.items()}
    entry["busy"] = busy
    ratios[key] = entry
    print("%-34s %-20s %-20s %-14s %-14s %-20s %s" % (
        key, fmt(entry["iops"], 3), fmt(entry["cpu"], 2), fmt(entry["lat"], 1), fmt(entry["p99"], 1),
        "%.0f/%.0f" % (med("%s %s" % (eng, w), "iops") or 0, med(name, "iops") or 0),
        "BUSY (" + "; ".join(busy) + ")" if busy else "quiet"))


ratios = OrderedDict()
for name, druns in points.items():
    if not name.startswith("direct "):
        continue
    for eng in ("stack", "stack-gc", "stack-poll"):
        pair_ratios(name[len("direct "):], druns, eng)


def ratio(w, key="iops"):
    e = ratios.get(w, {}).get(key)
    return e["median"] if e else None


print()
print("targets (issue 15; medians of per-pair ratios):")
checks = []


def check(label, value, ok, detail):
    if value is None:
        checks.append({"target": label, "met": None, "detail": "not measured"})
        print("  [n/a] %s: not measured" % label)
        return
    checks.append({"target": label, "met": bool(ok), "detail": detail})
    print("  [%s] %s: %s" % ("met" if ok else "MISSED", label, detail))


def busy_note(w):
    return " (machine busy during a pair)" if ratios.get(w, {}).get("busy") else ""


v = ratio("randread 4096 qd16")
check("4 KiB randread QD16 >= 0.95 x direct (persistent grants, zero copy)", v,
      v is not None and v >= 0.95, "%.3f%s" % (v or 0, busy_note("randread 4096 qd16")))
w = "randread 4096 qd16 (grant copy)"
v = ratio(w)
check("4 KiB randread QD16 >= 0.90 x direct (grant copy, what a Linux guest gets)", v,
      v is not None and v >= 0.90, "%.3f%s" % (v or 0, busy_note(w)))
for w in ("read 1048576 qd8", "write 1048576 qd8"):
    v = ratio(w)
    check("1 MiB %s >= 0.90 x direct (persistent grants)" % w.split()[0], v,
          v is not None and v >= 0.90, "%.3f%s" % (v or 0, busy_note(w)))
    g = ratio(w + " (grant copy)")
    if g is not None:
        print("        (grant copy: %.3f)" % g)
w = "randread 4096 qd1 (polling client)"
v = ratio(w, "lat")
check("4 KiB QD1 added mean latency <= 10 us (a client polling the ring)", v, v is not None and v <= 10,
      "%+.1f us%s" % (v or 0, busy_note(w)))
v = ratio("randread 4096 qd1", "lat")
if v is not None:
    print("        (a client that sleeps after 20 us: %+.1f us, its own wake-up for each answer)" % v)
v = ratio("randread 4096 qd16", "cpu")
check("backend CPU/cmd / direct client CPU/cmd, 4 KiB QD16 <= 1.2", v, v is not None and v <= 1.2,
      "%.2f%s" % (v or 0, busy_note("randread 4096 qd16")))
v = med("ring tur 0 qd16", "iops")
check("ring only, no data, 1 vhost QD16 >= 2 M commands/s", v, v is not None and v >= 2e6,
      "%.0f/s = %.0f %% of a polled ring's %.1f M/s" % (v or 0, (v or 0) * 100 / POLLED_RING_LIMIT,
                                                        POLLED_RING_LIMIT / 1e6))
c1, c64 = med("vhosts 1 randread 4096 qd4", "backend_cpu_us_per_cmd"), med("vhosts 64 randread 4096 qd4",
                                                                            "backend_cpu_us_per_cmd")
check("backend CPU/cmd at 64 vhosts <= 1.1 x at 1 vhost", c1 and c64, c1 and c64 and c64 <= 1.1 * c1,
      "%.2f vs %.2f us" % (c64 or 0, c1 or 0))
rss1, rss64 = med("vhosts 1 randread 4096 qd4", "backend_rss_kb"), med("vhosts 64 randread 4096 qd4",
                                                                      "backend_rss_kb")
if rss1 and rss64:
    per = (rss64 - rss1) / 63
    check("RSS <= 256 KiB per vhost", per, per <= 256, "%.0f KiB per vhost" % per)
idle = med("idle 64 vhosts", "backend_cpu_pct")
check("idle daemon with 64 vhosts < 1 % CPU", idle, idle is not None and idle < 1.0, "%.2f %%" % (idle or 0))

# docs/privsep.md: a worker per guest (the default) against one process
# for all guests (--no-privsep), the runs in turn.
print()
print("privilege separation: a worker per guest / one process (--no-privsep), medians:")
for w in ("randread 4096 qd16", "ring tur 0 qd16"):
    p, s = summary.get("privsep " + w, {}), summary.get("single " + w, {})
    for key, label in (("iops", "IOPS"), ("backend_cpu_us_per_cmd", "backend CPU us/cmd")):
        a, b = p.get(key), s.get(key)
        if a and b:
            print("  %-20s %-20s %10.2f / %10.2f = %.3f" % (w, label, a["median"], b["median"],
                                                       a["median"] / b["median"]))
for mode in ("privsep", "single"):
    per = med(mode + " 8 guests", "backend_pss_kb_per_guest")
    if per is not None:
        print("  %-8s memory per guest (PSS of scsiback and its workers): %d KiB%s" % (
            mode, per, ", %d workers" % med(mode + " 8 guests", "workers")
            if med(mode + " 8 guests", "workers") else ""))


def plot():
    """IOPS and mean latency against queue depth, direct and stack side by
    side (min..max bars), and the 1 MiB bandwidth."""
    gp = shutil.which("gnuplot")
    if not gp:
        print("no plot: gnuplot is not installed")
        return None
    d = os.path.dirname(png)
    sweep = os.path.join(d, "qd-sweep.dat")
    with open(sweep, "w") as f:
        f.write("# qd, then median min max of: direct, stack, stack-gc IOPS; the same for mean latency\n")
        for qd in (1, 2, 4, 8, 16, 32):
            w = "randread 4096 qd%d" % qd
            row = [str(qd)]
            for key in ("iops", "lat_mean_us"):
                for eng in ("direct", "stack", "stack-gc"):
                    s = summary.get("%s %s" % (eng, w), {}).get(key)
                    row += ["%g" % s["median"], "%g" % s["min"], "%g" % s["max"]] if s else ["?"] * 3
            f.write(" ".join(row) + "\n")
    bw = os.path.join(d, "bandwidth.dat")
    with open(bw, "w") as f:
        f.write("# workload direct_MBps stack_MBps stack-gc_MBps\n")
        for w in ("read 1048576 qd8", "write 1048576 qd8"):
            f.write('"1 MiB %s" %g %g %g\n' % (w.split()[0], med("direct " + w, "mbps") or 0,
                                               med("stack " + w, "mbps") or 0,
                                               med("stack-gc " + w, "mbps") or 0))
    script = """
set terminal pngcairo size 1500,480 font ",10"
set output "%(png)s"
set datafile missing "?"
set multiplot layout 1,3 title "make bench: direct libiscsi vs the vscsi stack, tgtd on loopback (medians; bars: min..max)"
set key top left
set grid
set logscale x 2
set xrange [0.8:40]
set xlabel "queue depth (4 KiB random read; 32 = 2 vhosts x 16)"
set yrange [0:*]
set offsets 0, 0, graph 0.15, 0
set ylabel "IOPS"
plot "%(sweep)s" using 1:2:3:4 with yerrorlines lw 2 title "direct", \\
     "%(sweep)s" using 1:5:6:7 with yerrorlines lw 2 title "stack", \\
     "%(sweep)s" using 1:8:9:10 with yerrorbars pt 7 ps 1.2 title "stack, grant copy"
set ylabel "mean latency (us)"
plot "%(sweep)s" using 1:11:12:13 with yerrorlines lw 2 title "direct", \\
     "%(sweep)s" using 1:14:15:16 with yerrorlines lw 2 title "stack", \\
     "%(sweep)s" using 1:17:18:19 with yerrorbars pt 7 ps 1.2 title "stack, grant copy"
unset logscale x
set xrange [*:*]
set xlabel ""
set ylabel "MB/s"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
plot "%(bw)s" using 2:xtic(1) title "direct", "" using 3 title "stack", "" using 4 title "stack, grant copy"
unset multiplot
""" % {"png": png, "sweep": sweep, "bw": bw}
    r = subprocess.run([gp], input=script, text=True, capture_output=True)
    if r.returncode != 0 or not os.path.exists(png):
        print("no plot: gnuplot failed: %s" % r.stderr.strip())
        return None
    return png


with open(out, "w") as f:
    json.dump({"points": summary, "ratios": ratios, "targets": checks,
               "polled_ring_limit": POLLED_RING_LIMIT}, f, indent=2)
drawn = plot()
print()
print("results: %s (raw runs: %s)" % (out, raw))
if drawn:
    print("plot: %s" % drawn)
