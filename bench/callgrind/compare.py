#!/usr/bin/env python3
"""Reads the per-phase callgrind dumps of one or more perfguard runs, takes each phase's median
instruction count, and compares it with the committed reference (or rewrites the reference).

Each run directory holds `stdout.txt` (the workload's `phase N name ops` lines) and the dumps
`callgrind.out.N`, where dump N holds exactly the instructions of phase N because callgrind ran
with `--dump-before=perfguard_phase_end` (counters restart at every dump).

Exit status: 0 within the threshold, 1 a gated phase regressed, 2 the runs or reference are unusable.
"""

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

# The phases that fail the guard; `setup` (server start and session connect, under 1 M
# instructions) is shown but not gated, so a new config field cannot fail CI.
GATED = ("create", "set", "get", "multi")


def read_run(run_dir):
    """{phase: (ops, instructions)} of one run."""
    phases = {}
    stdout = (run_dir / "stdout.txt").read_text()
    for match in re.finditer(r"^phase (\d+) (\S+) (\d+)$", stdout, re.M):
        dump = run_dir / f"callgrind.out.{match.group(1)}"
        summary = re.search(r"^summary: (\d+)", dump.read_text(), re.M)
        if summary is None:
            raise ValueError(f"{dump}: no summary line")
        phases[match.group(2)] = (int(match.group(3)), int(summary.group(1)))
    if not phases:
        raise ValueError(f"{run_dir}: the workload reported no phases")
    return phases


def medians(runs):
    """{phase: {ops, ir, min, max}} over all runs; every run must have the same phases."""
    names = list(runs[0])
    if any(list(run) != names for run in runs):
        raise ValueError("runs disagree on the phases")
    out = {}
    for name in names:
        counts = [run[name][1] for run in runs]
        out[name] = {
            "ops": runs[0][name][0],
            "ir": int(statistics.median(counts)),
            "min": min(counts),
            "max": max(counts),
        }
    return out


def spread_pct(phase):
    return 100.0 * (phase["max"] - phase["min"]) / phase["min"]


def write_reference(path, now, environment):
    reference = {
        "about": "Instructions (callgrind Ir) per phase of crates/bench/examples/perfguard.rs; "
        "regenerate with bench/callgrind/run.sh --update, never by hand.",
        "environment": environment,
        "phases": {
            name: {"ops": p["ops"], "ir": p["ir"]} for name, p in now.items()
        },
    }
    path.write_text(json.dumps(reference, indent=2) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True)
    parser.add_argument("--threshold", type=float, required=True, help="percent")
    parser.add_argument("--update", action="store_true")
    parser.add_argument("--environment", default="{}", help="JSON object recorded with --update")
    parser.add_argument("runs", type=Path, nargs="+")
    args = parser.parse_args()

    try:
        now = medians([read_run(run) for run in args.runs])
    except (OSError, ValueError) as e:
        print(f"callgrind guard: {e}", file=sys.stderr)
        return 2
    environment = json.loads(args.environment)

    if args.update:
        write_reference(args.reference, now, environment)
        print(f"{'phase':<8} {'ops':>6} {'instructions':>14} {'Ir/op':>9} {'spread':>8}")
        for name, p in now.items():
            print(f"{name:<8} {p['ops']:>6} {p['ir']:>14,} {p['ir'] // p['ops']:>9,} "
                  f"{spread_pct(p):>7.2f}%")
        print(f"wrote {args.reference} (median of {len(args.runs)} runs)")
        return 0

    try:
        reference = json.loads(args.reference.read_text())
        ref_phases = reference["phases"]
    except (OSError, ValueError, KeyError) as e:
        print(f"callgrind guard: cannot read {args.reference}: {e}", file=sys.stderr)
        return 2

    limit = 1.0 + args.threshold / 100.0
    regressed, improved = [], []
    print(f"{'phase':<8} {'ops':>6} {'reference':>14} {'now':>14} {'ratio':>7} {'Ir/op':>9} "
          f"{'spread':>8}  verdict")
    for name, p in now.items():
        ref = ref_phases.get(name)
        if ref is None or ref.get("ops") != p["ops"]:
            print(f"{name:<8} {p['ops']:>6} {'-':>14} {p['ir']:>14,}   (not in the reference "
                  "or different ops: run --update)")
            if name in GATED:
                regressed.append(name)
            continue
        ratio = p["ir"] / ref["ir"]
        gated = name in GATED
        if gated and ratio > limit:
            verdict = f"REGRESSED (> {limit:.2f})"
            regressed.append(name)
        elif gated and ratio < 1.0 / limit:
            verdict = "faster: lock it in with --update"
            improved.append(name)
        else:
            verdict = "ok" if gated else "(not gated)"
        print(f"{name:<8} {p['ops']:>6} {ref['ir']:>14,} {p['ir']:>14,} {ratio:>7.3f} "
              f"{p['ir'] // p['ops']:>9,} {spread_pct(p):>7.2f}%  {verdict}")
    missing = [name for name in GATED if name in ref_phases and name not in now]
    regressed += missing

    ref_env = reference.get("environment", {})
    differs = {k: (ref_env.get(k), v) for k, v in environment.items() if ref_env.get(k) != v}
    if differs:
        print("note: recorded in a different environment (counts may shift a few percent):")
        for key, (was, is_now) in differs.items():
            print(f"  {key}: reference {was!r}, now {is_now!r}")
    if regressed:
        print(f"callgrind guard: FAILED: {', '.join(regressed)} regressed more than "
              f"{args.threshold:g}% in instructions")
        return 1
    print(f"callgrind guard: ok (threshold {args.threshold:g}%, median of {len(args.runs)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
