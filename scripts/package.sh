#!/usr/bin/env bash
# Builds every installer this machine can build into dist/: the Windows MSIs of the
# desktop app (per-machine and per-user, scripts/package/msi.sh, wixl) and the Linux
# .debs (scripts/package/deb.sh). The release workflow (.github/workflows/release.yml)
# runs the same two scripts; scripts/test.sh runs this one on its debug builds.
#   scripts/package.sh [--profile release|debug] [--version X.Y.Z] [--out DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
profile=release
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
out=dist
while [ $# -gt 0 ]; do
  case "$1" in
    --profile) profile=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "scripts/package.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
# Debug: the very commands of scripts/test.sh, so nothing is built twice (another set
# of targets would unify features differently and rebuild).
case "$profile" in
  release) flags=(--release); cargo build --locked --release --bins ;;
  debug) flags=(); cargo build --locked --workspace --all-targets ;;
  *) echo "scripts/package.sh: --profile is release or debug" >&2; exit 2 ;;
esac
target="${CARGO_TARGET_DIR:-target}"
cargo build --locked "${flags[@]}" --target x86_64-pc-windows-gnu -p printrelay-desktop
cargo build --locked "${flags[@]}" --target x86_64-pc-windows-gnu -p printrelay-agent
scripts/package/msi.sh --exe-dir "$target/x86_64-pc-windows-gnu/$profile" --version "$version" --out "$out"
fast=()
[ "$profile" = debug ] && fast=(--fast)
scripts/package/deb.sh --bin-dir "$target/$profile" --version "$version" --out "$out" "${fast[@]}"
