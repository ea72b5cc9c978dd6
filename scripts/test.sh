#!/usr/bin/env bash
# Runs every test: installs what is missing, then formatting, lints, unit and
# end-to-end tests (real CUPS, the reference Node server, the desktop app under
# Xvfb), the benchmarks in short mode, and the Windows cross-check.
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

step "lint"
timed cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
export PRINTRELAY_ARTIFACTS="${PRINTRELAY_ARTIFACTS:-$PWD/artifacts}"
timed cargo test --workspace --locked

step "benchmarks, short mode (figures in artifacts/bench-short.*; a missed target is reported, not a failure)"
timed scripts/bench.sh --short >/dev/null

step "UI logic tests"
timed node --test tests/ui/

step "Windows cross-check (x86_64-pc-windows-gnu)"
if rustup target list --installed 2>/dev/null | grep -q x86_64-pc-windows-gnu && command -v x86_64-w64-mingw32-gcc >/dev/null; then
  timed cargo check --locked --target x86_64-pc-windows-gnu -p printrelay-agent -p printrelay-desktop
else
  printf '\n\033[1;33m!! SKIPPED: the Windows target or mingw-w64 is not installed; Windows buildability was NOT checked.\033[0m\n\n' >&2
fi
step "all tests passed"
