#!/usr/bin/env bash
# Builds PrintRelay's Windows installers on Linux with msitools (wixl, msibuild,
# msiinfo; Debian packages wixl and msitools) from installer/windows/printrelay.wxs:
#   PrintRelay_<version>_x64.msi          per machine (admin, C:\Program Files\PrintRelay)
#   PrintRelay_<version>_x64_peruser.msi  per user (no admin, %LOCALAPPDATA%\Programs\PrintRelay)
# from the Windows build's printrelay-desktop.exe, WebView2Loader.dll and
# printrelay-agent.exe, then applies installer/windows/finish.sql (what wixl cannot
# write). Prints the paths it wrote, nothing else unless something fails.
#   scripts/package/msi.sh [--exe-dir DIR] [--version X.Y.Z] [--out DIR]
# Defaults: --exe-dir ${CARGO_TARGET_DIR:-target}/x86_64-pc-windows-gnu/release,
# --version from Cargo.toml ([workspace.package]), --out dist. Relative paths are
# taken from the current folder; the defaults from the repository root.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
wxs="$repo/installer/windows/printrelay.wxs"
finish="$repo/installer/windows/finish.sql"
icon="$repo/icons/icon.ico"

die() {
  echo "scripts/package/msi.sh: $*" >&2
  exit 1
}

usage() {
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
}

absolute() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s\n' "$PWD/$1" ;;
  esac
}

exe_dir=
version=
out=
while [ $# -gt 0 ]; do
  case "$1" in
    --exe-dir | --version | --out)
      [ $# -ge 2 ] || die "$1 needs a value"
      case "$1" in
        --exe-dir) exe_dir="$(absolute "$2")" ;;
        --version) version="$2" ;;
        --out) out="$(absolute "$2")" ;;
      esac
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      die "unknown argument: $1"
      ;;
  esac
done

target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in
  /*) ;;
  *) target_dir="$repo/$target_dir" ;;
esac
exe_dir="${exe_dir:-$target_dir/x86_64-pc-windows-gnu/release}"
out="${out:-$repo/dist}"
if [ -z "$version" ]; then
  version="$(awk '
    /^\[/ { section = $0 }
    section == "[workspace.package]" && $1 == "version" { gsub(/"/, "", $3); print $3; exit }
  ' "$repo/Cargo.toml")"
  [ -n "$version" ] || die "no version in the [workspace.package] section of $repo/Cargo.toml"
fi

# Windows Installer versions: major.minor.build, at most 255.255.65535.
if ! [[ "$version" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] ||
  ((10#${BASH_REMATCH[1]} > 255 || 10#${BASH_REMATCH[2]} > 255 || 10#${BASH_REMATCH[3]} > 65535)); then
  die "version $version is not X.Y.Z with X, Y <= 255 and Z <= 65535 (an MSI ProductVersion)"
fi

for tool in wixl:wixl msibuild:msitools msiinfo:msitools; do
  command -v "${tool%%:*}" >/dev/null ||
    die "${tool%%:*} is missing (install the Debian package ${tool#*:})"
done
for file in "$exe_dir/printrelay-desktop.exe" "$exe_dir/WebView2Loader.dll" \
  "$exe_dir/printrelay-agent.exe" "$icon" "$wxs" "$finish"; do
  [ -f "$file" ] || die "$file is missing (build with: cargo build --release --target x86_64-pc-windows-gnu -p printrelay-desktop -p printrelay-agent)"
done

# wixl 0.101 finds source files only relative to the folder it runs in (absolute
# paths fail): run it in a folder of links to the inputs.
stage="$(mktemp -d)"
partial=
trap 'rm -rf "$stage" ${partial:+"$partial"}' EXIT
for file in printrelay-desktop.exe WebView2Loader.dll printrelay-agent.exe; do
  ln -s "$exe_dir/$file" "$stage/$file"
done
ln -s "$icon" "$stage/icon.ico"
mkdir -p "$out"

for scope in perMachine perUser; do
  name="PrintRelay_${version}_x64"
  [ "$scope" = perUser ] && name="${name}_peruser"
  msi="$out/$name.msi"
  # Written beside its final name, moved there when whole.
  partial="$out/.$name.msi.partial"
  (cd "$stage" && wixl -a x64 -D "Version=$version" -D ExeDir=. -D IconFile=icon.ico \
    -D "Scope=$scope" -o "$partial" "$wxs") >"$stage/wixl.log" 2>&1 || {
    cat "$stage/wixl.log" >&2
    die "wixl failed for the $scope package"
  }
  [ -f "$partial" ] || {
    cat "$stage/wixl.log" >&2
    die "wixl wrote no $partial"
  }
  upgrade_code="$(msiinfo export "$partial" Property | tr -d '\r' |
    awk -F '\t' '$1 == "UpgradeCode" { print $2 }')"
  [ -n "$upgrade_code" ] || die "no UpgradeCode in the $scope package"
  queries=()
  while IFS= read -r line; do
    case "$line" in
      '' | --*) continue ;;
    esac
    line="${line//@UPGRADE_CODE@/$upgrade_code}"
    queries+=(-q "${line//@VERSION@/$version}")
  done <"$finish"
  msibuild "$partial" "${queries[@]}" >"$stage/msibuild.log" 2>&1 || {
    cat "$stage/msibuild.log" >&2
    die "msibuild could not apply $finish to the $scope package"
  }
  mv -f "$partial" "$msi"
  partial=
  echo "$msi"
done
