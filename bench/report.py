"""Turns bench/compare.sh's measurements into docs/PERFORMANCE.md (never edit that file by hand)."""
import datetime
import json
import statistics
import sys

results, facts, out, machine, duration, warmup, runs, parts = sys.argv[1:]
rows = [json.loads(line) for line in open(results)]
notes = [json.loads(line) for line in open(facts)]


def med(part, name, target, key):
    vals = [r["result"][key] for r in rows
            if r["part"] == part and r["name"] == name and r["target"] == target
            and r["result"].get(key) is not None]
    return statistics.median(vals) if vals else None


def ratio(a, b):
    return f"{a / b:.2f}" if a is not None and b else "n/a"


def fmt(v, digits=1):
    return "n/a" if v is None else f"{v:.{digits}f}"


HEADER = ("| workload | ZK ops/s | FK ops/s | FK/ZK throughput | ZK p50 ms | FK p50 ms | ZK p99 ms | FK p99 ms "
          "| FK/ZK p99 | ZK p99.9 ms | FK p99.9 ms | ZK CPU µs/op | FK CPU µs/op | FK/ZK CPU |")
RULE = "|---" * 14 + "|"


def table(part):
    lines = [HEADER, RULE]
    for name in dict.fromkeys(r["name"] for r in rows if r["part"] == part):
        m = {(t, k): med(part, name, t, k) for t in ("zookeeper", "ferrokeeper")
             for k in ("throughput", "p50_ms", "p99_ms", "p999_ms", "server_cpu_us_per_op")}
        z = lambda k: m[("zookeeper", k)]
        f = lambda k: m[("ferrokeeper", k)]
        lines.append(
            f"| {name} | {fmt(z('throughput'), 0)} | {fmt(f('throughput'), 0)} | {ratio(f('throughput'), z('throughput'))} "
            f"| {fmt(z('p50_ms'), 2)} | {fmt(f('p50_ms'), 2)} | {fmt(z('p99_ms'), 2)} | {fmt(f('p99_ms'), 2)} "
            f"| {ratio(f('p99_ms'), z('p99_ms'))} | {fmt(z('p999_ms'), 2)} | {fmt(f('p999_ms'), 2)} "
            f"| {fmt(z('server_cpu_us_per_op'))} | {fmt(f('server_cpu_us_per_op'))} "
            f"| {ratio(f('server_cpu_us_per_op'), z('server_cpu_us_per_op'))} |")
    return lines


def run_p50(part, name, target, run):
    vals = [r["result"]["p50_ms"] for r in rows
            if r["part"] == part and r["name"] == name and r["target"] == target and r["run"] == run]
    return vals[0] if vals else None


# Machine floors, no server involved: (fact target, what was measured, digits, workload, floor name).
FLOORS = (
    ("fsync", "one 1 KiB write + fdatasync into a log file sized ahead, as both servers' are, on this disk "
     "(`ferrokeeper bench fsync`)", 3, "single client set", "fdatasync p50"),
    ("round-trip", "one 1 KiB request over loopback TCP to a thread that writes it to such a log file, calls "
     "fdatasync and answers (`ferrokeeper bench round-trip`, no server)", 3, "single client set",
     "durable round-trip floor p50"),
    ("loopback", "one 60 B frame written to each of 1000 loopback TCP connections until every receiving "
     "task has read it (`ferrokeeper bench fanout`, no server)", 2, "watch fan-out 1000",
     "loopback fan-out floor p50"),
)


def floor_lines(part):
    lines = []
    for kind, probe, digits, workload, floor_name in FLOORS:
        taken = [n for n in notes if n["part"] == part and n["target"] == kind]
        if not taken:
            continue
        values = sorted(n["value"] for n in taken)
        beside = [n for n in taken if "beside" in n]
        when = ", each right before a run of the workload below" if beside else ""
        lines.append(f"- {probe}, p50: {statistics.median(values):.{digits}f} ms (median of {len(values)} "
                     f"probes{when}; {values[0]:.{digits}f}–{values[-1]:.{digits}f})")
        short = workload.replace("single client set", "single-client set")
        for target, label in (("zookeeper", "ZooKeeper"), ("ferrokeeper", "Ferrokeeper")):
            if beside:
                # Each run against the probe taken just before it, on the same minutes of the disk.
                ratios = [p50 / n["value"] for n in beside if n["beside"] == target
                          for p50 in [run_p50(part, workload, target, n["run"])] if p50 is not None]
                if ratios:
                    each = ", ".join(f"{r:.2f}" for r in ratios)
                    lines.append(f"- {short} p50 / {floor_name} measured right before it, {label}: "
                                 f"{statistics.median(ratios):.2f}× (median; runs: {each})")
                continue
            p50 = med(part, workload, target, "p50_ms")
            if p50 is not None:
                lines.append(f"- {short} p50 / {floor_name}, {label}: {p50 / statistics.median(values):.2f}×")
    return lines


def fact_lines(part):
    lines = floor_lines(part)
    for what in dict.fromkeys(n["what"] for n in notes
                              if n["part"] == part and n["target"] not in [f[0] for f in FLOORS]):
        taken = {}
        for n in notes:
            if n["part"] == part and n["what"] == what:
                taken.setdefault(n["target"], []).append(n["value"])
        # Restart times are the median of the alternating restarts; a measure taken once per
        # run (peak memory) is reported as its largest value.
        timed = what.startswith("restart")
        pick = statistics.median if timed else max
        vals = {target: pick(v) for target, v in taken.items()}
        zk, fk = vals.get("zookeeper"), vals.get("ferrokeeper")
        runs_note = f", median of {len(taken.get('ferrokeeper', []))} restarts each" if timed else ""
        lines.append(f"- {what}: ZooKeeper {zk}, Ferrokeeper {fk} (FK/ZK {ratio(fk, zk)}{runs_note})")
    return lines


now = datetime.datetime.now(datetime.timezone.utc)
doc = [
    "# Performance: Ferrokeeper vs Apache ZooKeeper 3.8",
    "",
    "Generated by `bench/compare.sh`; do not edit by hand. "
    f"Command: `DURATION={duration} WARMUP={warmup} RUNS={runs} PARTS=\"{parts}\" bench/compare.sh` "
    f"({now:%Y-%m-%d %H:%M} UTC).",
    "",
    f"Machine: {machine}. Servers on loopback, durable (ZooKeeper's default forceSync, Ferrokeeper fsync "
    "per batch), measured alternately; each figure is the median of the runs. The load generator "
    "(`ferrokeeper bench`) shares the machine's cores with the servers, so throughput is capped by "
    "what is left to it; server CPU time per operation is the ratio that does not depend on that. "
    "Latency counts from when a request was sent, or, for a run at a fixed rate, from when it was due.",
]
titles = {
    "standalone": "## Standalone",
    "ensemble": "## 3-member ensembles (3 processes each, clients given all three addresses; CPU summed over the members)",
    "bigtree": "## A big tree (standalone; `BIG_ZNODES` znodes of 100 B)",
}
for part in parts.split():
    doc += ["", titles.get(part, f"## {part}"), ""]
    if any(r["part"] == part for r in rows):
        doc += table(part)
        doc.append("")
    doc += fact_lines(part)
open(out, "w").write("\n".join(doc) + "\n")
print("\n".join(doc))
