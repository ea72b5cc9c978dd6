#!/usr/bin/env bash
# Benchmarks (docs/benchmarks.md). Full mode: release builds, 1,000-job latency and burst,
# 10-minute idle CPU, hub scale at 1k/5k/10k agents beside the Node reference server,
# Chromium as the memory reference. `scripts/bench.sh --short` is the CI mode (debug
# builds, small counts). Extra arguments go to printrelay-bench (e.g. --only latency).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
# Every simulated agent is a file descriptor in the loadgen and in the server.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export PRINTRELAY_ARTIFACTS="${PRINTRELAY_ARTIFACTS:-$PWD/artifacts}"
mkdir -p "$PRINTRELAY_ARTIFACTS"
if [[ " $* " == *" --short "* ]]; then
  profile=debug
  # The same command as scripts/test.sh, so CI finds everything built (a `-p` subset
  # would unify features differently and rebuild).
  cargo build --workspace --all-targets --locked
else
  profile=release
  if ! command -v chromium >/dev/null; then
    echo "chromium is missing (the memory reference): apt-get install chromium" >&2
  fi
  cargo build --workspace --bins --locked --release
fi
exec "target/$profile/printrelay-bench" "$@"
