#!/usr/bin/env bash
# CI regression guard: counts the instructions (callgrind Ir) of a fixed in-process workload
# (crates/bench/examples/perfguard.rs) per phase, write path and read path apart, and compares
# them with bench/callgrind/reference.json. Instructions, not time: a slow or busy machine cannot
# fail it and a fast one cannot hide a regression. See bench/callgrind/README.md.
#
#   bench/callgrind/run.sh            # compare; exit 1 if a phase regressed > THRESHOLD_PCT
#   bench/callgrind/run.sh --update   # rewrite the reference from this machine's counts
#   RUNS=5 bench/callgrind/run.sh     # more runs (the median of each phase is compared)
#   KEEP=1 bench/callgrind/run.sh     # keep the callgrind dumps for callgrind_annotate
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../.."

# Ten percent is about three times the widest run-to-run spread measured (3.4%, with and without
# a CPU hog on the other core); see the README.
THRESHOLD_PCT=${THRESHOLD_PCT:-10}
RUNS=${RUNS:-3}
KEEP=${KEEP:-0}
REFERENCE=${REFERENCE:-$here/reference.json}
update=0
for arg in "$@"; do
    case "$arg" in
        --update) update=1 ;;
        -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "run.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
    esac
done
for tool in valgrind python3 cargo; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "run.sh: $tool is not installed (Debian: apt-get install valgrind python3)" >&2
        exit 2
    fi
done

# The release build is what ships; a debug build's counts would measure the compiler instead.
binary=$(cargo build --release -p bench --example perfguard --message-format=json-render-diagnostics \
    | python3 -c '
import json, sys
for line in sys.stdin:
    msg = json.loads(line)
    if msg.get("reason") == "compiler-artifact" and msg["target"]["name"] == "perfguard" \
            and msg.get("executable"):
        print(msg["executable"])')
if [ ! -x "$binary" ]; then
    echo "run.sh: cargo built no perfguard executable" >&2
    exit 2
fi

# The data directory goes on tmpfs when there is one: counts do not depend on the disk (fsync is
# kernel time, which callgrind does not count), but wall time does.
data_parent=${PERFGUARD_DATA_PARENT:-}
if [ -z "$data_parent" ]; then
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then data_parent=/dev/shm; else data_parent=${TMPDIR:-/tmp}; fi
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/callgrind-guard.XXXXXX")
cleanup() { if [ "$KEEP" = 1 ]; then echo "callgrind dumps kept in $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT

runs=()
for ((r = 1; r <= RUNS; r++)); do
    dir="$work/run$r"
    mkdir -p "$dir"
    started=$SECONDS
    if ! valgrind --tool=callgrind --dump-before=perfguard_phase_end \
        --callgrind-out-file="$dir/callgrind.out" --log-file="$dir/valgrind.log" \
        "$binary" "$data_parent" > "$dir/stdout.txt"; then
        echo "run.sh: the workload failed under valgrind (run $r):" >&2
        cat "$dir/valgrind.log" >&2
        KEEP=1
        exit 2
    fi
    echo "run $r/$RUNS: $((SECONDS - started)) s" >&2
    runs+=("$dir")
done

environment=$(python3 -c '
import json, platform, subprocess, sys
def first_line(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        return "unknown"
cpu = "unknown"
try:
    with open("/proc/cpuinfo") as f:
        cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
except (OSError, StopIteration):
    pass
print(json.dumps({
    "rustc": first_line(["rustc", "--version"]),
    "valgrind": first_line(["valgrind", "--version"]),
    "libc": " ".join(platform.libc_ver()),
    "cpu": cpu,
}))')

args=(--reference "$REFERENCE" --threshold "$THRESHOLD_PCT" --environment "$environment")
if [ "$update" = 1 ]; then args+=(--update); fi
status=0
python3 "$here/compare.py" "${args[@]}" "${runs[@]}" || status=$?
if [ "$status" = 1 ]; then
    KEEP=1
    echo "inspect with: callgrind_annotate $work/run1/callgrind.out.<N> (N from $work/run1/stdout.txt)" >&2
fi
exit "$status"
