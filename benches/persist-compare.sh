#!/usr/bin/env bash
# Compares SAVE and RDB loading in ferrodis-node and Debian's redis-server
# in one run, on the same dataset.
#
# Loads the same mixed keyspace into both servers (by default 1,000,000
# keys: 70% strings, 10% lists, 10% hashes, 5% sets, 5% sorted sets, every
# collection with 8 elements), then for each server, alternating which goes
# first: times SAVE (as the client sees it), restarts the server on its file
# and times the load (the "loaded from disk" seconds both servers log, and
# the wall time from start until PING answers). Prints both, and the ratios
# Ferrodis/Redis (below 1.0 means Ferrodis is faster). Also cross-loads each
# file into the other server and checks DBSIZE, as a sanity check.
#
# Usage: benches/persist-compare.sh [--keys N] [--rounds N]
# Environment: FERRODIS_NODE (binary; default: built here in release mode).
set -euo pipefail
cd "$(dirname "$0")/.."

keys=1000000
rounds=2
while [ $# -gt 0 ]; do
    case "$1" in
        --keys) keys=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
for tool in redis-server redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install redis-server redis-tools)" >&2; exit 2; }
done
node=${FERRODIS_NODE:-}
if [ -z "$node" ]; then
    cargo build --release -q -p ferrodis-node
    node=target/release/ferrodis-node
fi
case $node in /*) ;; *) node=$PWD/$node ;; esac

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

now() { python3 -c 'import time; print(time.monotonic())'; }

start() { # kind dir port -> pid (waits for PING)
    local kind=$1 dir=$2 port=$3
    mkdir -p "$dir"
    if [ "$kind" = redis ]; then
        (cd "$dir" && exec redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir") >>"$dir/log" 2>&1 &
    else
        (cd "$dir" && exec "$node" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir") >>"$dir/log" 2>&1 &
    fi
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 600); do redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
    echo "$pid"
}

stop() { # port pid
    redis-cli -p "$1" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 200); do kill -0 "$2" 2>/dev/null || return 0; sleep 0.05; done
    kill -9 "$2" 2>/dev/null || true
}

# The dataset, as a protocol stream for redis-cli --pipe.
python3 - "$keys" >"$work/data.resp" <<'EOF'
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
def cmd(*args):
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(a), a))
    out.write(b"".join(parts))
for i in range(n):
    r = i % 20
    if r < 14:
        cmd("SET", "str:%d" % i, "value-%012d" % i)
    elif r < 16:
        cmd("RPUSH", "list:%d" % i, *["item-%d-%d" % (i, j) for j in range(8)])
    elif r < 18:
        args = []
        for j in range(8):
            args += ["f%d" % j, "v%d" % (i + j)]
        cmd("HSET", "hash:%d" % i, *args)
    elif r < 19:
        cmd("SADD", "set:%d" % i, *[str(i * 10 + j) for j in range(8)])
    else:
        args = []
        for j in range(8):
            args += [str(j * 1.5), "m%d" % j]
        cmd("ZADD", "zset:%d" % i, *args)
EOF

loaded_secs() { # log -> seconds from the last "loaded from disk" line
    grep -o 'DB loaded from disk: [0-9.]* seconds' "$1" | tail -1 | grep -o '[0-9.]*' || echo nan
}

declare -A save_t load_t wall_t
for kind in redis ferrodis; do save_t[$kind]=0; load_t[$kind]=0; wall_t[$kind]=0; done
add() { python3 -c "print($1 + $2)"; }

for round in $(seq "$rounds"); do
    order="redis ferrodis"
    [ $((round % 2)) -eq 0 ] && order="ferrodis redis"
    for kind in $order; do
        dir="$work/$kind-$round"
        port=$(free_port)
        pid=$(start "$kind" "$dir" "$port")
        redis-cli -p "$port" --pipe <"$work/data.resp" >/dev/null
        n=$(redis-cli -p "$port" dbsize)
        [ "$n" = "$keys" ] || { echo "$kind: dbsize $n after loading, expected $keys" >&2; exit 1; }
        t0=$(now); redis-cli -p "$port" save >/dev/null; t1=$(now)
        s=$(python3 -c "print($t1 - $t0)")
        stop "$port" "$pid"
        t0=$(now); pid=$(start "$kind" "$dir" "$port"); t1=$(now)
        w=$(python3 -c "print($t1 - $t0)")
        l=$(loaded_secs "$dir/log")
        n=$(redis-cli -p "$port" dbsize)
        [ "$n" = "$keys" ] || { echo "$kind: dbsize $n after restart, expected $keys" >&2; exit 1; }
        stop "$port" "$pid"
        printf '%-9s round %d: SAVE %.3f s, load %.3f s (logged), start-to-PING %.3f s, file %d bytes\n' \
            "$kind" "$round" "$s" "$l" "$w" "$(stat -c %s "$dir/dump.rdb")"
        save_t[$kind]=$(add "${save_t[$kind]}" "$s")
        load_t[$kind]=$(add "${load_t[$kind]}" "$l")
        wall_t[$kind]=$(add "${wall_t[$kind]}" "$w")
    done
done

# Each server loads the other's file.
for pair in "redis ferrodis" "ferrodis redis"; do
    set -- $pair
    dir="$work/cross-$2"
    mkdir -p "$dir"
    cp "$work/$1-1/dump.rdb" "$dir/dump.rdb"
    port=$(free_port)
    pid=$(start "$2" "$dir" "$port")
    n=$(redis-cli -p "$port" dbsize)
    stop "$port" "$pid"
    [ "$n" = "$keys" ] || { echo "$2 loaded $n keys from $1's file, expected $keys" >&2; exit 1; }
    echo "$2 loads $1's file: $n keys"
done

python3 - "${save_t[redis]}" "${save_t[ferrodis]}" "${load_t[redis]}" "${load_t[ferrodis]}" \
    "${wall_t[redis]}" "${wall_t[ferrodis]}" "$rounds" "$keys" <<'EOF'
import sys
rs, fs, rl, fl, rw, fw, rounds, keys = map(float, sys.argv[1:])
print()
print(f"{int(keys)} keys, mean of {int(rounds)} rounds      redis     ferrodis   ferrodis/redis")
print(f"SAVE (client-side)                {rs/rounds:8.3f} s {fs/rounds:8.3f} s   {fs/rs:.2f}")
print(f"load (logged)                     {rl/rounds:8.3f} s {fl/rounds:8.3f} s   {fl/rl:.2f}")
print(f"start until PING answers          {rw/rounds:8.3f} s {fw/rounds:8.3f} s   {fw/rw:.2f}")
EOF
