#!/bin/sh
# Starts a throwaway Redis server for the hub's cluster tests and prints its URL:
#
#   export PRINTRELAY_TEST_REDIS=$(tests/redis/start.sh /tmp/redis-test 63790)
#
# DIR is created; the server listens on 127.0.0.1:PORT only, keeps nothing on disk (no
# snapshots, no append-only file: the cluster uses pub/sub only) and logs to
# DIR/server.log. Stop it with
#   redis-cli -p PORT shutdown nosave
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 DIR PORT" >&2
    exit 2
fi
dir=$1
port=$2

if ! command -v redis-server >/dev/null; then
    echo "$0: no redis-server (apt-get install redis-server)" >&2
    exit 1
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

if ! redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
    redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/server.log" || {
        cat "$dir/server.log" >&2 2>/dev/null
        exit 1
    }
fi

tries=0
until redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "$0: the server does not answer on 127.0.0.1:$port" >&2
        cat "$dir/server.log" >&2 2>/dev/null
        exit 1
    fi
    sleep 0.5
done

echo "redis://127.0.0.1:$port"
