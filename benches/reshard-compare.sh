#!/usr/bin/env bash
# Compares live resharding in Ferrodis and Debian's redis-server in one run.
#
# For each system (Redis first, then Ferrodis; the nodes of one are stopped
# before the other starts): starts 4 cluster nodes, creates a 3-master
# cluster on the first 3 (`redis-cli --cluster create` / `ferrodis-trib
# create`, no replicas), adds the fourth as an empty master (`add-node`),
# loads the keys, then moves --slots slots from the three masters to the new
# one (`redis-cli --cluster reshard --cluster-from all` / `ferrodis-trib
# reshard --from all`) while a Python cluster client (redis-py's
# RedisCluster, one thread) does GET and SET in turn on random loaded keys.
# Prints per system the reshard's wall time, keys moved, the client's ops,
# errors and p50/p99/max latency during the move, then the ratio
# redis_time/ferrodis_time (above 1.0 means Ferrodis is faster) and the
# ratio of the p99s. The client's errors include redis-py's own exceptions
# (now and then an AttributeError while slots move to a new master, a known
# redis-py behaviour); their kinds are printed.
#
# Keys: only in the slots that will move. The script works out which slots
# `reshard --from all --slots N` takes (redis-cli's plan, which
# ferrodis-trib copies: each source gives its share, lowest slots first),
# picks one hash tag {tag} per slot (crc16) and loads --keys keys spread
# evenly over those slots (key i is "{tag of slot i mod N}:i", 16-byte
# values) with `redis-cli --pipe` per source. That loads 4x fewer keys than
# filling all 16384 slots, so it is the faster way; every loaded key moves.
# Checked: the DBSIZE sum of the sources before the move, and afterwards
# that the new node owns --slots slots and holds all the keys, and that the
# total is unchanged.
#
# Usage: benches/reshard-compare.sh [--keys N] [--slots N] [--pipeline N]
#          [--port P] [--only redis|ferrodis]
#   defaults: --keys 1000000 --slots 4096 --pipeline 10 (redis-cli's
#   default keys per MIGRATE; given to both tools) --port 12200 (Redis uses
#   P..P+3, Ferrodis P+10..P+13; the cluster bus ports +10000 must be free
#   too).
# Environment: FERRODIS_NODE, FERRODIS_TRIB (binaries; default: built here
#   in release mode, in $CARGO_TARGET_DIR or target/), FERRODIS_IO_THREADS
#   (ferrodis-node worker threads; default: one per core; redis-server runs
#   with its defaults).
set -euo pipefail
cd "$(dirname "$0")/.."

keys=1000000
slots=4096
pipeline=10
base=12200
only=
while [ $# -gt 0 ]; do
    case "$1" in
        --keys) keys=$2; shift 2 ;;
        --slots) slots=$2; shift 2 ;;
        --pipeline) pipeline=$2; shift 2 ;;
        --port) base=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

for tool in redis-server redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install redis-server redis-tools)" >&2; exit 2; }
done
python3 -c 'import redis.cluster' 2>/dev/null || { echo "missing python3 redis (apt-get install python3-redis)" >&2; exit 2; }
io_threads=${FERRODIS_IO_THREADS:-$(nproc)}
node=${FERRODIS_NODE:-}
trib=${FERRODIS_TRIB:-}
if [ -z "$node" ] || [ -z "$trib" ]; then
    cargo build --release -q -p ferrodis-node -p ferrodis-trib
    node=${node:-${CARGO_TARGET_DIR:-target}/release/ferrodis-node}
    trib=${trib:-${CARGO_TARGET_DIR:-target}/release/ferrodis-trib}
fi
case $node in /*) ;; *) node=$PWD/$node ;; esac
case $trib in /*) ;; *) trib=$PWD/$trib ;; esac
helper=$PWD/benches/reshard_latency.py

work=$(mktemp -d)
# Every process started is recorded here (start() runs in a subshell).
touch "$work/pids"
cleanup() {
    local p
    while read -r p; do kill "$p" 2>/dev/null || true; done < "$work/pids"
    sleep 0.2
    while read -r p; do kill -9 "$p" 2>/dev/null || true; done < "$work/pids"
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() { # system port -> pid (waits for PING)
    local sys=$1 port=$2 dir=$work/$1/$2
    mkdir -p "$dir"
    if [ "$sys" = redis ]; then
        (cd "$dir" && exec redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
            --cluster-config-file "nodes-$port.conf" --dir "$dir" --save '' --appendonly no) >"$dir/log" 2>&1 &
    else
        (cd "$dir" && exec "$node" --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
            --cluster-config-file "nodes-$port.conf" --dir "$dir" --save '' --appendonly no \
            --io-threads "$io_threads") >"$dir/log" 2>&1 &
    fi
    local pid=$!
    echo "$pid" >> "$work/pids"
    for _ in $(seq 100); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG || { echo "$sys node on $port did not start:" >&2; tail "$dir/log" >&2; exit 1; }
    echo "$pid"
}

wait_until() { # seconds description command... (retries every 0.2 s)
    local secs=$1 what=$2; shift 2
    local i
    for i in $(seq $((secs * 5))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "timed out after ${secs}s waiting for $what" >&2
    exit 1
}
state_ok() { for p in "$@"; do redis-cli -p "$p" cluster info | grep -q 'cluster_state:ok' || return 1; done; }
all_know() { # id ports...
    local id=$1 p; shift
    for p in "$@"; do redis-cli -p "$p" cluster nodes | grep "^$id " | grep -q master || return 1; done
}
check_ok() { # system port: the tool's own check agrees before resharding
    local out
    if [ "$1" = redis ]; then out=$(redis-cli --cluster check "127.0.0.1:$2" 2>&1); else out=$("$trib" check "127.0.0.1:$2" 2>&1); fi
    echo "$out" | grep -q 'All nodes agree about slots configuration' &&
        echo "$out" | grep -q 'All 16384 slots covered' && ! echo "$out" | grep -q '^\[ERR\]'
}
dbsize() { redis-cli -p "$1" dbsize; }
myslots() { # port -> number of slots the node says it owns
    redis-cli -p "$1" cluster nodes | awk '/myself/ {
        n = 0
        for (i = 9; i <= NF; i++) {
            if ($i ~ /^\[/) continue
            split($i, r, "-"); n += (r[2] == "" ? 1 : r[2] - r[1] + 1)
        }
        print n }'
}

run_system() { # system first_port
    local sys=$1 p0=$2 p ports=() pids=()
    for i in 0 1 2 3; do ports+=($((p0 + i))); done
    for p in "${ports[@]}"; do
        port_free "$p" && port_free $((p + 10000)) || { echo "port $p or $((p + 10000)) is in use" >&2; exit 1; }
    done
    for p in "${ports[@]}"; do pids+=("$(start "$sys" "$p")"); done
    local masters=("127.0.0.1:${ports[0]}" "127.0.0.1:${ports[1]}" "127.0.0.1:${ports[2]}")
    local new=127.0.0.1:${ports[3]} log=$work/$sys.log
    if [ "$sys" = redis ]; then
        redis-cli --cluster create "${masters[@]}" --cluster-replicas 0 --cluster-yes >"$log" 2>&1
    else
        "$trib" create "${masters[@]}" --replicas 0 --yes >"$log" 2>&1
    fi || { echo "$sys: create failed:" >&2; tail -20 "$log" >&2; exit 1; }
    wait_until 60 "$sys cluster_state:ok" state_ok "${ports[@]:0:3}"
    if [ "$sys" = redis ]; then
        redis-cli --cluster add-node "$new" "${masters[0]}" >>"$log" 2>&1
    else
        "$trib" add-node "$new" "${masters[0]}" >>"$log" 2>&1
    fi || { echo "$sys: add-node failed:" >&2; tail -20 "$log" >&2; exit 1; }
    local id
    id=$(redis-cli -p "${ports[3]}" cluster myid)
    wait_until 60 "every $sys node to know $id" all_know "$id" "${ports[@]}"
    wait_until 60 "$sys cluster_state:ok" state_ok "${ports[@]}"
    wait_until 60 "$sys check to pass" check_ok "$sys" "${ports[0]}"

    # Load the keys into the slots that will move.
    local data=$work/$sys/data t0 t1
    mkdir -p "$data"
    t0=$(date +%s.%N)
    python3 "$helper" plan "${ports[0]}" "$id" "$slots" "$keys" "$data" > "$data/counts"
    local src n total=0
    while read -r src n; do
        redis-cli -p "$src" --pipe < "$data/load-$src.resp" > "$data/pipe-$src.log" 2>&1 ||
            { echo "$sys: loading $src failed:" >&2; cat "$data/pipe-$src.log" >&2; exit 1; }
        rm -f "$data/load-$src.resp"
    done < "$data/counts"
    for p in "${ports[@]:0:3}"; do total=$((total + $(dbsize "$p"))); done
    t1=$(date +%s.%N)
    if [ "$total" -ne "$keys" ]; then
        echo "$sys: the sources hold $total keys, expected $keys" >&2; exit 1
    fi
    echo "$sys: nodes on ${ports[0]}-${ports[3]}, new master $id;" \
        "loaded $total keys into $slots slots in $(python3 -c "print(f'{$t1 - $t0:.1f}')")s" >&2

    # The move, with the client running.
    rm -f "$work/ready"
    python3 "$helper" client "${ports[0]}" "$data/tags" "$keys" "$work/ready" "$work/$sys.client" \
        2>"$work/$sys.client.err" &
    local cpid=$!
    echo "$cpid" >> "$work/pids"
    wait_until 60 "the $sys client" test -e "$work/ready"
    local rpid rc=0
    t0=$(date +%s.%N)
    if [ "$sys" = redis ]; then
        redis-cli --cluster reshard "${masters[0]}" --cluster-from all --cluster-to "$id" \
            --cluster-slots "$slots" --cluster-pipeline "$pipeline" --cluster-yes >"$work/$sys.reshard" 2>&1 &
    else
        "$trib" reshard "${masters[0]}" --from all --to "$id" --slots "$slots" \
            --pipeline "$pipeline" --yes >"$work/$sys.reshard" 2>&1 &
    fi
    rpid=$!
    echo "$rpid" >> "$work/pids"
    wait "$rpid" || rc=$?
    t1=$(date +%s.%N)
    kill -TERM "$cpid"
    wait "$cpid" || true
    if [ "$rc" -ne 0 ]; then
        echo "$sys: reshard failed (exit $rc):" >&2
        tail -c 2000 "$work/$sys.reshard" >&2; echo >&2; exit 1
    fi
    [ -s "$work/$sys.client" ] || { echo "$sys: the client gave no result:" >&2; cat "$work/$sys.client.err" >&2; exit 1; }
    if [ -s "$work/$sys.client.err" ]; then
        echo "$sys client:" >&2; sed 's/^/  /' "$work/$sys.client.err" >&2
    fi

    # Checks: the new node owns the slots and holds every key.
    local owned moved after=0
    owned=$(myslots "${ports[3]}")
    moved=$(dbsize "${ports[3]}")
    for p in "${ports[@]}"; do after=$((after + $(dbsize "$p"))); done
    local ok=yes
    [ "$owned" -eq "$slots" ] || { echo "$sys: the new node owns $owned slots, expected $slots" >&2; ok=no; }
    [ "$moved" -eq "$keys" ] || { echo "$sys: the new node holds $moved keys, expected $keys" >&2; ok=no; }
    [ "$after" -eq "$keys" ] || { echo "$sys: the cluster holds $after keys after the move, expected $keys" >&2; ok=no; }

    local secs
    secs=$(python3 -c "print(f'{$t1 - $t0:.2f}')")
    # system secs moved ops errors p50 p99 max client_secs checks
    echo "$sys $secs $moved $(cat "$work/$sys.client") $ok" >> "$work/results"

    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    done
}

echo "redis-server $(redis-server --version | awk '{print $3}' | cut -d= -f2)," \
    "ferrodis-node (io-threads $io_threads), $(nproc) cores;" \
    "moving $slots slots holding $keys keys to a new master, --pipeline $pipeline" >&2
[ "$only" = ferrodis ] || run_system redis "$base"
[ "$only" = redis ] || run_system ferrodis $((base + 10))

printf '\n%-9s %10s %10s %9s %7s %8s %8s %9s %7s\n' system reshard_s keys_moved client_ops errors p50_ms p99_ms max_ms checks
while read -r sys secs moved ops errors p50 p99 max _csecs ok; do
    printf '%-9s %10s %10s %9s %7s %8s %8s %9s %7s\n' "$sys" "$secs" "$moved" "$ops" "$errors" "$p50" "$p99" "$max" "$ok"
done < "$work/results"
if [ "$(wc -l < "$work/results")" -eq 2 ]; then
    python3 - "$work/results" <<'PY'
import sys
rows = {l.split()[0]: l.split() for l in open(sys.argv[1])}
r, f = rows["redis"], rows["ferrodis"]
speed = float(r[1]) / float(f[1])
p99r, p99f = float(r[6]), float(f[6])
print(f"\nreshard time redis/ferrodis: {speed:.2f}x (target >= 5x: {'met' if speed >= 5 else 'not met'})")
print(f"client p99 during the move: ferrodis {p99f:.3f} ms vs redis {p99r:.3f} ms"
      f" (ferrodis/redis {p99f / p99r:.2f}; target <= 1: {'met' if p99f <= p99r else 'not met'})")
PY
fi
if grep -q ' no$' "$work/results"; then
    echo "some checks failed (see above)" >&2
    exit 1
fi
