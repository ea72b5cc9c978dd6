#!/bin/sh
# Starts a throwaway PostgreSQL cluster for the hub's tests and prints its admin URL:
#
#   export PRINTRELAY_TEST_POSTGRES=$(tests/postgres/start.sh /tmp/pg-test 54329)
#   cargo test -p printrelay-hub
#
# DIR is created (or reused if it holds a cluster); the server listens on 127.0.0.1:PORT
# only, trusts every local TCP connection (no password: tests only), keeps its socket in
# DIR and runs without fsync (a crash loses only test data). Stop it with
#   pg_ctl -D DIR/data stop      (as user postgres when started as root)
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 DIR PORT" >&2
    exit 2
fi
dir=$1
port=$2

# The server binaries are not on PATH on Debian.
bin=${PG_BIN:-}
if [ -z "$bin" ]; then
    for candidate in /usr/lib/postgresql/*/bin; do
        [ -x "$candidate/initdb" ] && bin=$candidate
    done
fi
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "$0: no PostgreSQL server binaries (set PG_BIN)" >&2
    exit 1
fi

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data=$dir/data

# initdb and the server refuse to run as root: as root, run them as user postgres.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}
if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$dir"
fi

if [ ! -f "$data/PG_VERSION" ]; then
    as_owner "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    # Trust on the loopback address only; no other host may connect.
    cat >"$data/pg_hba.conf" <<HBA
local all all trust
host all all 127.0.0.1/32 trust
HBA
fi

if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || {
        cat "$dir/server.log" >&2
        exit 1
    }
fi

tries=0
until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "$0: the server does not answer on 127.0.0.1:$port" >&2
        exit 1
    fi
    sleep 0.5
done

echo "postgres://postgres@127.0.0.1:$port/postgres"
