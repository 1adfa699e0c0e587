#!/usr/bin/env bash
# Side-by-side comparison of Ferrokeeper and Apache ZooKeeper 3.8 (Debian package) on this machine.
# Regenerates docs/PERFORMANCE.md with medians and Ferrokeeper/ZooKeeper ratios, in three parts:
#   standalone  both servers standalone; every workload, plus latency at 80% of ZooKeeper's
#               saturation throughput (open-loop load, `bench --rate`)
#   ensemble    both as 3-member loopback ensembles (3 processes each); clients get all addresses
#   bigtree     1M znodes of 100 B: resident memory, and restart until a znode can be read
#
#   bench/compare.sh                                  # 10 s per run, 3 alternating runs per server
#   DURATION=30 RUNS=5 bench/compare.sh               # longer
#   PARTS="standalone ensemble" bench/compare.sh      # a subset (the others are left out)
#
# ZooKeeper runs with its default durability (forceSync=yes); Ferrokeeper fsyncs every batch.
# Never edit docs/PERFORMANCE.md by hand: rerun this script.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
RUNS=${RUNS:-3}
PARTS=${PARTS:-standalone ensemble bigtree}
BIG_ZNODES=${BIG_ZNODES:-1000000}
OUT=${OUT:-docs/PERFORMANCE.md}
BASE_PORT=${BASE_PORT:-21810}

cargo build --release -p ferrokeeper >&2
FK=target/release/ferrokeeper
work=$(mktemp -d)
results="$work/results.jsonl"
facts="$work/facts.jsonl"
: > "$results"
: > "$facts"
pids=()
cleanup() {
    if [ ${#pids[@]} -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

CP=/usr/share/java/zookeeper.jar:/usr/share/java/zookeeper-jute.jar:/usr/share/java/slf4j-api.jar
CP=$CP:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar:/usr/share/java/commons-cli.jar
CP=$CP:/usr/share/java/metrics-core.jar:/usr/share/java/netty-all.jar:/usr/share/java/snappy-java.jar:/etc/zookeeper/conf

four_letter() { # port word -> the answer on stdout
    python3 - "$1" "$2" <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(sys.argv[2].encode())
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
print(data.decode(errors="replace"))
PY
}

wait_ready() { # port...
    for port in "$@"; do
        for _ in $(seq 1 300); do
            if [ "$(four_letter "$port" ruok)" = imok ]; then continue 2; fi
            sleep 0.2
        done
        echo "server on port $port did not start" >&2
        exit 1
    done
}

wait_leader() { # port... : until one member says it leads and all serve
    for _ in $(seq 1 300); do
        local leaders=0 serving=0
        for port in "$@"; do
            local mode
            mode=$(four_letter "$port" srvr | sed -n 's/^Mode: //p')
            [ "$mode" = leader ] && leaders=$((leaders + 1))
            case "$mode" in leader | follower) serving=$((serving + 1)) ;; esac
        done
        if [ "$leaders" = 1 ] && [ "$serving" = "$#" ]; then return 0; fi
        sleep 0.2
    done
    echo "no leader among ports $*" >&2
    exit 1
}

# Writes zoo.cfg files for `target` (zookeeper|ferrokeeper) with `size` members (1: standalone)
# under $work/<target>-<size>/<id>/ and starts them; sets started_pids and started_ports.
start_servers() { # target size first_port
    local target=$1 size=$2 port=$3 dir="$work/$1-$2"
    started_pids=()
    started_ports=()
    for id in $(seq 1 "$size"); do
        local d="$dir/$id" client=$((port + id - 1))
        mkdir -p "$d/data"
        {
            printf 'tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=%s\n' "$d/data"
            printf 'clientPort=%s\nclientPortAddress=127.0.0.1\nmaxClientCnxns=0\n' "$client"
            printf '4lw.commands.whitelist=*\n'
            if [ "$size" -gt 1 ]; then
                for m in $(seq 1 "$size"); do
                    printf 'server.%s=127.0.0.1:%s:%s\n' "$m" $((port + 100 + m)) $((port + 200 + m))
                done
            fi
        } > "$d/zoo.cfg"
        echo "$id" > "$d/data/myid"
        if [ "$target" = zookeeper ]; then
            local main=org.apache.zookeeper.server.ZooKeeperServerMain
            [ "$size" -gt 1 ] && main=org.apache.zookeeper.server.quorum.QuorumPeerMain
            java -cp "$CP" "$main" "$d/zoo.cfg" > "$d/server.log" 2>&1 &
        else
            "$FK" server --config "$d/zoo.cfg" > "$d/server.log" 2>&1 &
        fi
        started_pids+=($!)
        started_ports+=("$client")
        pids+=($!)
    done
    wait_ready "${started_ports[@]}"
    if [ "$size" -gt 1 ]; then wait_leader "${started_ports[@]}"; fi
}

rss_kib() { # pid... -> summed resident set
    local total=0
    for pid in "$@"; do total=$((total + $(ps -o rss= -p "$pid" | tr -d ' '))); done
    echo "$total"
}

stop_servers() { # pid... : SIGTERM, and SIGKILL for whatever is still there after 20 s
    kill "$@" 2>/dev/null || true
    for _ in $(seq 1 200); do
        local alive=0
        for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    kill -9 "$@" 2>/dev/null || true
    for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

connect_string() { # port...
    local IFS=,
    local hosts=()
    for port in "$@"; do hosts+=("127.0.0.1:$port"); done
    echo "${hosts[*]}"
}

# Runs every workload of the named array against both targets, alternating, RUNS times; every run
# gets freshly started servers on empty data directories, so no run inherits another's tree (or its
# disk use: ZooKeeper keeps every snapshot and log unless purged).
#
# An entry "name|bench arguments|floors" also measures the disk's floors right before each of its
# runs (see `disk_floors`), so a ratio to the floor compares the same minutes of this disk.
measure() { # part workloads-array-name size zk-first-port fk-first-port
    local part=$1 size=$3 zk_port=$4 fk_port=$5
    local -n list=$2
    for entry in "${list[@]}"; do
        local name=${entry%%|*} args=${entry#*|} floors=
        if [[ "$args" == *"|floors" ]]; then args=${args%|floors}; floors=1; fi
        for run in $(seq 1 "$RUNS"); do
            for target in zookeeper ferrokeeper; do
                local port=$zk_port
                if [ "$target" = ferrokeeper ]; then port=$fk_port; fi
                start_servers "$target" "$size" "$port"
                local conn pid_list line
                conn=$(connect_string "${started_ports[@]}")
                pid_list=$(IFS=,; echo "${started_pids[*]}")
                echo "[$part $run/$RUNS] $target: $name" >&2
                if [ -n "$floors" ]; then disk_floors "$part" "$run" "$target"; fi
                # shellcheck disable=SC2086
                line=$("$FK" bench --server "$conn" $args --warmup "$WARMUP" \
                    --duration "$DURATION" --server-pid "$pid_list" --json | tail -n 1)
                printf '{"part":"%s","target":"%s","name":"%s","run":%s,"result":%s}\n' \
                    "$part" "$target" "$name" "$run" "$line" >> "$results"
                fact "$part" "peak resident memory (MiB, summed over members)" "$target" \
                    $(( $(rss_kib "${started_pids[@]}") / 1024 ))
                stop_servers "${started_pids[@]}"
                rm -rf "$work/$target-$size"
            done
        done
    done
}

median_throughput() { # part name target
    python3 - "$results" "$@" <<'PY'
import json, statistics, sys
path, part, name, target = sys.argv[1:]
vals = [r["result"]["throughput"] for r in map(json.loads, open(path))
        if r["part"] == part and r["name"] == name and r["target"] == target]
print(f"{statistics.median(vals):.0f}")
PY
}

fact() { printf '{"part":"%s","what":"%s","target":"%s","value":%s}\n' "$@" >> "$facts"; }

# The floors under a durable single-client write, measured where the servers write, tagged with
# the run and the server whose run comes next: this VM's disk is several times slower in some
# minutes than in others, and a floor taken at another moment says nothing about that run.
disk_floors() { # part run beside
    local p50 kind
    for kind in fsync round-trip; do
        p50=$("$FK" bench "$kind" --dir "$work" --count 2000 --size 1024 --json \
            | python3 -c "import json, sys; print(json.load(sys.stdin)['p50_ms'])")
        printf '{"part":"%s","what":"floor","target":"%s","run":%s,"beside":"%s","value":%s}\n' \
            "$1" "$kind" "$2" "$3" "$p50" >> "$facts"
    done
}

if [[ " $PARTS " == *" standalone "* ]]; then
    # name | bench arguments
    STANDALONE=(
        "create 1KB, 64x32|--workload create --clients 64 --in-flight 32 --value-size 1024"
        "set 1KB, 64x32|--workload set --clients 64 --in-flight 32 --value-size 1024"
        "get, 16x32|--workload get --clients 16 --in-flight 32"
        "mixed 80/20, 16x32|--workload mixed --read-ratio 0.8 --clients 16 --in-flight 32"
        "multi of 4 sets, 16x32|--workload multi --ops 4 --clients 16 --in-flight 32"
        "set 1KB, 16x32 (CPU)|--workload set --clients 16 --in-flight 32 --value-size 1024"
        "single client set|--workload set --clients 1 --in-flight 1|floors"
        # One load-generator thread: a fan-out's latency needs no client parallelism, and two
        # client threads handing 1000 woken sessions to each other compete with the server.
        "watch fan-out 1000|--workload watch --watchers 1000 --threads 1"
        "sessions, 8x4|--workload sessions --clients 8 --in-flight 4"
    )
    for _ in $(seq 1 "$RUNS"); do
        # The machine's floor under watch fan-out: a frame to each of 1000 loopback connections.
        p50=$("$FK" bench fanout --connections 1000 --rounds 200 --threads 1 --json \
            | python3 -c "import json, sys; print(json.load(sys.stdin)['p50_ms'])")
        fact standalone "one 60 B frame to each of 1000 loopback connections, p50 (ms)" loopback "$p50"
    done
    measure standalone STANDALONE 1 "$BASE_PORT" $((BASE_PORT + 1))
    # Open loop at 80% of what ZooKeeper sustained: latency when neither server is saturated.
    rate=$(( $(median_throughput standalone "set 1KB, 64x32" zookeeper) * 8 / 10 ))
    AT_RATE=("set 1KB at $rate ops/s (80% of ZK's saturation), 16x32|--workload set --clients 16 --in-flight 32 --value-size 1024 --rate $rate")
    measure standalone AT_RATE 1 "$BASE_PORT" $((BASE_PORT + 1))
fi

if [[ " $PARTS " == *" ensemble "* ]]; then
    ENSEMBLE=(
        "set 1KB, 1 client|--workload set --clients 1 --in-flight 1 --value-size 1024"
        "set 1KB, 64x32|--workload set --clients 64 --in-flight 32 --value-size 1024"
        "create 1KB, 64x32|--workload create --clients 64 --in-flight 32 --value-size 1024"
        "get, 16x32|--workload get --clients 16 --in-flight 32"
        "mixed 80/20, 16x32|--workload mixed --read-ratio 0.8 --clients 16 --in-flight 32"
    )
    measure ensemble ENSEMBLE 3 $((BASE_PORT + 10)) $((BASE_PORT + 20))
fi

# Starts `target` on its existing data and sets `restart_took` to the seconds until a populated
# znode reads back, and `restarted` to its pid.
restart() { # target dir port
    local started
    started=$(date +%s.%N)
    if [ "$1" = zookeeper ]; then
        java -cp "$CP" org.apache.zookeeper.server.ZooKeeperServerMain "$2/zoo.cfg" >> "$2/server.log" 2>&1 &
    else
        "$FK" server --config "$2/zoo.cfg" >> "$2/server.log" 2>&1 &
    fi
    restarted=$!
    pids+=("$restarted")
    # One client polling every 5 ms: the probe adds milliseconds, not a benchmark run.
    "$FK" bench --server "127.0.0.1:$3" ready --timeout 600 > /dev/null
    restart_took=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" \
        "$started" "$(date +%s.%N)")
}

if [[ " $PARTS " == *" bigtree "* ]]; then
    big_port() { if [ "$1" = ferrokeeper ]; then echo $((BASE_PORT + 31)); else echo $((BASE_PORT + 30)); fi; }
    for target in zookeeper ferrokeeper; do
        port=$(big_port "$target")
        start_servers "$target" 1 "$port"
        pid=${started_pids[0]}
        echo "[bigtree] $target: populating $BIG_ZNODES znodes of 100 B" >&2
        "$FK" bench --server "127.0.0.1:$port" populate --count "$BIG_ZNODES" --size 100 >&2
        sleep 2
        fact bigtree "resident memory with $BIG_ZNODES znodes of 100 B (MiB)" "$target" $(( $(rss_kib "$pid") / 1024 ))
        stop_servers "$pid"
    done
    # Restarts alternate between the two servers, each on the tree it was stopped with; `sync`
    # first, so neither pays for the other's (or its own earlier) writes still being flushed.
    for run in $(seq 1 "$RUNS"); do
        for target in zookeeper ferrokeeper; do
            sync
            echo "[bigtree $run/$RUNS] $target: restart" >&2
            restart "$target" "$work/$target-1/1" "$(big_port "$target")"
            fact bigtree "restart until a znode reads back, $BIG_ZNODES znodes (s)" "$target" "$restart_took"
            stop_servers "$restarted"
        done
    done
    rm -rf "$work/zookeeper-1" "$work/ferrokeeper-1"
fi

machine="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, kernel $(uname -r)"
python3 bench/report.py "$results" "$facts" "$OUT" "$machine" "$DURATION" "$WARMUP" "$RUNS" "$PARTS"
