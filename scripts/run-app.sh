#!/usr/bin/env bash
# Runs the PrintRelay desktop app with a local hub on http://localhost:3000, so a
# first print works at once:
#   curl 'http://localhost:3000/startPrint?clientId=<your client id>&printData=Hello'
# Installs what is missing first (scripts/setup.sh app).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh app
cargo build --locked -p printrelay-desktop -p printrelay-hub

server_pid=
if ! (exec 3<>/dev/tcp/127.0.0.1/3000) 2>/dev/null; then
  echo "== starting the PrintRelay hub on http://localhost:3000" >&2
  ./target/debug/printrelay-hub --listen 127.0.0.1:3000 &
  server_pid=$!
  trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null' EXIT
else
  echo "== something already listens on port 3000; using it as the server" >&2
fi
echo "== output of the test queue PrintRelayRaw lands in /var/spool/printrelay-test/PrintRelayRaw/" >&2
./target/debug/printrelay-desktop "$@"
