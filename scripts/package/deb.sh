#!/usr/bin/env bash
# Builds the Linux packages into --out: printrelay-desktop_<version>_<arch>.deb (the tray
# app, its menu entry, icons, and an autostart entry for every user that starts it in
# the tray at sign-in) and printrelay-agent_<version>_<arch>.deb (the headless agent
# with a systemd service). Prints the paths it wrote.
#   scripts/package/deb.sh [--bin-dir DIR] [--version X.Y.Z] [--out DIR] [--fast]
# Defaults: target/release, the workspace version, dist/. --fast compresses with gzip -1
# (the tests' debug binaries are large; releases keep dpkg's xz).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin_dir=target/release
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
out=dist
compress=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin-dir) bin_dir=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --fast) compress=(-Zgzip -z1); shift ;;
    *) echo "scripts/package/deb.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v dpkg-deb >/dev/null || { echo "scripts/package/deb.sh: dpkg-deb is missing" >&2; exit 1; }
for bin in printrelay-desktop printrelay-agent; do
  [ -x "$bin_dir/$bin" ] || { echo "scripts/package/deb.sh: $bin_dir/$bin is missing (cargo build --release --bins)" >&2; exit 1; }
done
arch=$(dpkg --print-architecture)
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# control <dir> <package> <depends> <description line> <long description>
# Both packages recommend Chromium: HTML jobs are rendered with it (decision 0007).
control() {
  mkdir -p "$1/DEBIAN"
  local size
  size=$(du -sk --exclude=DEBIAN "$1" | cut -f1)
  cat > "$1/DEBIAN/control" <<CONTROL
Package: $2
Version: $version
Architecture: $arch
Maintainer: PrintRelay <support@printrelay.invalid>
Installed-Size: $size
Depends: $3
Recommends: chromium-headless-shell | chromium
Section: utils
Priority: optional
Homepage: https://github.com/printrelay/printrelay
Description: $4
 $5
CONTROL
}

# The desktop app.
root="$work/desktop"
install -D -m 0755 "$bin_dir/printrelay-desktop" "$root/usr/bin/printrelay-desktop"
install -D -m 0644 installer/linux/printrelay.desktop "$root/usr/share/applications/printrelay.desktop"
# Named like the entry the app writes to ~/.config/autostart, so a user's own entry
# takes its place (XDG autostart: the user's file wins over the system's).
install -D -m 0644 installer/linux/printrelay-autostart.desktop "$root/etc/xdg/autostart/PrintRelay.desktop"
install -D -m 0644 icons/32x32.png "$root/usr/share/icons/hicolor/32x32/apps/printrelay.png"
install -D -m 0644 icons/128x128.png "$root/usr/share/icons/hicolor/128x128/apps/printrelay.png"
install -D -m 0644 icons/128x128@2x.png "$root/usr/share/icons/hicolor/256x256/apps/printrelay.png"
install -D -m 0644 README.md "$root/usr/share/doc/printrelay-desktop/README"
control "$root" printrelay-desktop \
  "libc6, libgcc-s1, libcups2, libgtk-3-0, libwebkit2gtk-4.1-0, libjavascriptcoregtk-4.1-0, libsoup-3.0-0, libayatana-appindicator3-1, libglib2.0-0, libcairo2, libgdk-pixbuf-2.0-0" \
  "PrintRelay: prints what web systems send, from the tray" \
  "Keeps a connection to a PrintRelay hub (or a socket.io print server) and prints incoming jobs silently on this computer's printers. Starts in the tray at sign-in."
desktop_deb="$out/printrelay-desktop_${version}_${arch}.deb"
# /etc files are the administrator's (kept on remove, removed on purge).
echo /etc/xdg/autostart/PrintRelay.desktop > "$root/DEBIAN/conffiles"
dpkg-deb "${compress[@]}" --build --root-owner-group "$root" "$desktop_deb" >/dev/null
echo "$desktop_deb"

# The headless agent with its service.
root="$work/agent"
install -D -m 0755 "$bin_dir/printrelay-agent" "$root/usr/bin/printrelay-agent"
install -D -m 0644 installer/linux/printrelay-agent.service "$root/lib/systemd/system/printrelay-agent.service"
install -D -m 0644 README.md "$root/usr/share/doc/printrelay-agent/README"
control "$root" printrelay-agent "libc6, libgcc-s1, libcups2" \
  "PrintRelay headless print agent (systemd service)" \
  "The PrintRelay agent without a desktop, for PCs and kiosks: prints jobs from a PrintRelay hub on local CUPS printers. Runs as the printrelay-agent service."
cat > "$root/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
# Enabled at boot; started now where systemd runs (not in a container or chroot).
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now printrelay-agent.service
fi
exit 0
SCRIPT
cat > "$root/DEBIAN/prerm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl disable --now printrelay-agent.service || true
fi
exit 0
SCRIPT
cat > "$root/DEBIAN/postrm" <<'SCRIPT'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload || true
fi
exit 0
SCRIPT
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"
agent_deb="$out/printrelay-agent_${version}_${arch}.deb"
dpkg-deb "${compress[@]}" --build --root-owner-group "$root" "$agent_deb" >/dev/null
echo "$agent_deb"
