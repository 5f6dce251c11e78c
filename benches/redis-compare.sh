#!/usr/bin/env bash
# Compares ferrodis-node with Debian's redis-server in one run.
#
# For each pipeline depth (-P 1 and -P 16) and each test, runs the same
# redis-benchmark against both servers, alternating which goes first, and
# prints ops/s for each and the ratio Ferrodis/Redis. Then loads the same
# 1,000,000 keys with 16-byte values into each and prints used_memory and
# RSS per key.
#
# Usage: benches/redis-compare.sh [--requests N] [--keys N] [--tests list]
#   defaults: --requests 1000000 --keys 1000000 --tests set,get,incr,lpush,lpop,hset,zadd
# Environment: FERRODIS_NODE (binary; default: built here in release mode),
#   FERRODIS_IO_THREADS (ferrodis-node worker threads; default: one per core;
#   redis-server runs with its defaults).
set -euo pipefail
cd "$(dirname "$0")/.."

requests=1000000
keys=1000000
tests="set,get,incr,lpush,lpop,hset,zadd"
while [ $# -gt 0 ]; do
    case "$1" in
        --requests) requests=$2; shift 2 ;;
        --keys) keys=$2; shift 2 ;;
        --tests) tests=$2; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

for tool in redis-server redis-benchmark redis-cli python3; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install redis-server redis-tools)" >&2; exit 2; }
done
io_threads=${FERRODIS_IO_THREADS:-$(nproc)}
node=${FERRODIS_NODE:-}
if [ -z "$node" ]; then
    cargo build --release -q -p ferrodis-node
    node=target/release/ferrodis-node
fi
case $node in /*) ;; *) node=$PWD/$node ;; esac

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
work=$(mktemp -d)
rpid=; fpid=
cleanup() { kill $rpid $fpid 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

start() { # name port -> pid
    local name=$1 port=$2
    mkdir -p "$work/$name"
    if [ "$name" = redis ]; then
        (cd "$work/$name" && exec redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no) >"$work/$name.log" 2>&1 &
    else
        (cd "$work/$name" && exec "$node" --port "$port" --bind 127.0.0.1 --io-threads "$io_threads") >"$work/$name.log" 2>&1 &
    fi
    local pid=$!
    for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    echo "$pid"
}

rport=$(free_port); fport=$(free_port)
rpid=$(start redis "$rport")
fpid=$(start ferrodis "$fport")
echo "redis-server $(redis-server --version | awk '{print $3}') on $rport, ferrodis-node (io-threads $io_threads) on $fport, $(nproc) cores"

bench() { # port pipeline test -> ops/s
    redis-benchmark -p "$1" -t "$3" -n "$requests" -r 100000 -c 50 -P "$2" --csv 2>/dev/null \
        | awk -F'","' 'NR==2 {print $2}'
}

printf '\n%-8s %-4s %14s %14s %8s\n' test P redis ferrodis ratio
for p in 1 16; do
    i=0
    for t in ${tests//,/ }; do
        redis-cli -p "$rport" flushall >/dev/null; redis-cli -p "$fport" flushall >/dev/null
        if [ $((i % 2)) -eq 0 ]; then
            r=$(bench "$rport" "$p" "$t"); f=$(bench "$fport" "$p" "$t")
        else
            f=$(bench "$fport" "$p" "$t"); r=$(bench "$rport" "$p" "$t")
        fi
        i=$((i + 1))
        ratio=$(python3 -c "print(f'{float(\"$f\")/float(\"$r\"):.2f}')" 2>/dev/null || echo "n/a")
        printf '%-8s %-4s %14s %14s %8s\n' "$t" "$p" "$r" "$f" "$ratio"
    done
done

# Memory: the same keys into each server.
python3 - "$keys" > "$work/load.resp" <<'PY'
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
for i in range(n):
    k = b"key:%d" % i
    v = b"%016d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n" % (len(k), k, v))
PY
rss() { awk '/VmRSS/ {print $2 * 1024}' "/proc/$1/status"; }
used() { redis-cli -p "$1" info memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}'; }
printf '\n%-10s %14s %14s %14s\n' server keys used/key rss/key
for s in redis ferrodis; do
    if [ $s = redis ]; then port=$rport; pid=$rpid; else port=$fport; pid=$fpid; fi
    redis-cli -p "$port" flushall >/dev/null
    sleep 0.5
    rss0=$(rss "$pid"); used0=$(used "$port")
    redis-cli -p "$port" --pipe < "$work/load.resp" >/dev/null
    n=$(redis-cli -p "$port" dbsize)
    rss1=$(rss "$pid"); used1=$(used "$port")
    printf '%-10s %14s %14s %14s\n' "$s" "$n" \
        "$(( (used1 - used0) / n ))" "$(( (rss1 - rss0) / n ))"
done
