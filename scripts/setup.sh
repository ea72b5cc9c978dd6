#!/usr/bin/env bash
# Installs and starts what PrintRelay needs on Debian 12 / Ubuntu 22.04+. Idempotent.
#   scripts/setup.sh app    what running the desktop app needs
#   scripts/setup.sh test   what the test suite needs (a superset)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-test}"

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
as_root() { "${sudo_cmd[@]}" "$@"; }
step() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }

build_packages=(build-essential pkg-config curl libwebkit2gtk-4.1-dev libgtk-3-dev
  libayatana-appindicator3-dev librsvg2-dev libssl-dev libsoup-3.0-dev
  libjavascriptcoregtk-4.1-dev libcups2-dev cups cups-client cups-bsd nodejs npm
  chromium-headless-shell)
# wine64 + wine run the agent's Windows build in tests (its winspool prints to CUPS);
# fonts-wqy-microhei is a CJK TrueType font with glyph names, which Wine's PostScript
# driver keeps, so text printed through GDI stays extractable in the PDFs tests read.
# python3-venv: schemathesis, which fuzzes the hub's API (tests/tests/hub_api_fuzz.rs),
# lives in a virtual environment of its own. iproute2 and openssl: a network namespace
# whose link the network test pulls, and a certificate no public CA signed.
# chromium-headless-shell renders HTML jobs (docs/decisions/0007); the benchmark sets
# Debian's chromium --print-to-pdf beside it, and zbar-tools reads printed barcodes back.
# chromium-driver drives Chromium over WebDriver for the hub console's tests; postgresql
# runs the hub's store tests on PostgreSQL too (scripts/test.sh starts a throwaway cluster);
# redis-server carries the cluster tests' node messages on the Redis bus (--cluster).
test_packages=(xvfb xauth dbus-x11 poppler-utils printer-driver-cups-pdf fonts-noto-cjk
  gcc-mingw-w64-x86-64 webkit2gtk-driver imagemagick wine64 wine fonts-wqy-microhei
  python3-venv iproute2 openssl cups-ipp-utils trayer xdotool wixl msitools
  chromium chromium-driver zbar-tools postgresql redis-server)

packages=("${build_packages[@]}")
[ "$mode" = test ] && packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  # Node may come from elsewhere (nvm, NodeSource); only ask apt when there is none.
  if { [ "$p" = nodejs ] || [ "$p" = npm ]; } && command -v "${p/nodejs/node}" >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null && [ -x "$HOME/.cargo/bin/cargo" ]; then
  export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null; then
  step "installing Rust with rustup (into ~/.cargo)"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component rustfmt,clippy
  export PATH="$HOME/.cargo/bin:$PATH"
fi

step "node packages of the test peers"
if [ ! -d tests/node/node_modules ] || [ tests/node/package-lock.json -nt tests/node/node_modules ]; then
  (cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
fi

step "CUPS and the PrintRelay test queues"
if ! lpstat -r 2>/dev/null | grep -q 'is running'; then
  if command -v systemctl >/dev/null && systemctl is-system-running >/dev/null 2>&1; then
    as_root systemctl start cups
  else
    as_root /usr/sbin/cupsd
  fi
  for _ in $(seq 50); do lpstat -r 2>/dev/null | grep -q 'is running' && break; sleep 0.1; done
fi
as_root install -m 0700 -o root -g root scripts/cups/printrelay-test /usr/lib/cups/backend/printrelay-test
spool=/var/spool/printrelay-test
as_root mkdir -p "$spool"
as_root chmod 0755 "$spool"
if [ "$mode" = test ]; then
  # What earlier runs printed goes: the tests read this folder, and cupsd may number
  # jobs again from a stale job.cache after the machine stopped.
  as_root find "$spool" -mindepth 2 -type f -delete
fi
add_raw_queue() {
  local queue=$1
  if ! lpstat -p "$queue" >/dev/null 2>&1; then
    as_root lpadmin -p "$queue" -E -v "printrelay-test:$spool/$queue" -m raw -D "PrintRelay test queue ($queue)"
  fi
  as_root cupsenable "$queue"
  as_root cupsaccept "$queue"
}
add_raw_queue PrintRelayRaw
if [ "$mode" = test ]; then
  add_raw_queue PrintRelayRaw2
  # Queues tests stop (a printer that is off): jobs pile up behind them. One each for
  # the memory test and the cancel test, which run at the same time.
  add_raw_queue PrintRelayHeld
  add_raw_queue PrintRelayCancel
  # A queue whose default paper is Letter: an HTML job without a page size of its own
  # comes out on it (the agent asks the queue's media-default).
  add_raw_queue PrintRelayLetter
  as_root lpadmin -p PrintRelayLetter -o media-default=na_letter_8.5x11in
  # The hub console's tests: one queue that prints, one its cancel test stops.
  add_raw_queue PrintRelayConsole
  add_raw_queue PrintRelayConsoleHeld
  # A queue whose device always fails (its output folder cannot be made), with CUPS
  # told to abort the job instead of stopping the queue: the agent must say `failed`.
  if ! lpstat -p PrintRelayFail >/dev/null 2>&1; then
    as_root lpadmin -p PrintRelayFail -E -v printrelay-test:/proc/printrelay-fail -m raw \
      -o printer-error-policy=abort-job -D "PrintRelay test queue whose device fails"
  fi
  as_root cupsenable PrintRelayFail
  as_root cupsaccept PrintRelayFail
  # A PDF printer (cups-pdf) whose output tests read back; its own config file
  # (named after the device URI's path) keeps it out of anyone's ~/PDF.
  pdf_dir="$spool/PrintRelayPDF"
  as_root mkdir -p "$pdf_dir"
  printf 'Out %s\nAnonDirName %s\nUserUMask 0022\nAnonUMask 0022\nGrp root\n' "$pdf_dir" "$pdf_dir" |
    as_root tee /etc/cups/cups-pdf-PrintRelayPDF.conf >/dev/null
  if ! lpstat -p PrintRelayPDF >/dev/null 2>&1; then
    as_root lpadmin -p PrintRelayPDF -E -v cups-pdf:/PrintRelayPDF -m lsb/usr/cups-pdf/CUPS-PDF_opt.ppd
  fi
  as_root cupsenable PrintRelayPDF
  as_root cupsaccept PrintRelayPDF
  # A printer that takes PDF through CUPS' own filters (pdftopdf) into the test sink:
  # unlike cups-pdf's Ghostscript pass, it keeps fonts as they are, so tests can read
  # the text back.
  if ! lpstat -p PrintRelayPDFOut >/dev/null 2>&1; then
    as_root lpadmin -p PrintRelayPDFOut -E -v "printrelay-test:$spool/PrintRelayPDFOut" \
      -m lsb/usr/cupsfilters/Generic-PDF_Printer-PDF.ppd
  fi
  as_root cupsenable PrintRelayPDFOut
  as_root cupsaccept PrintRelayPDFOut
fi
# A first test print must work on a machine without printers: make the test
# queue the default only when the machine has none.
if ! lpstat -d 2>/dev/null | grep -q 'system default destination:'; then
  as_root lpadmin -d PrintRelayRaw
fi

if [ "$mode" = test ]; then
  step "tauri-driver (WebDriver for the desktop app's end-to-end test)"
  if ! command -v tauri-driver >/dev/null; then
    cargo install tauri-driver --version 2.1.0 --locked --quiet
  fi
  # Pinned: its checks decide whether the test passes. In a venv under cargo's target
  # folder (Debian's python refuses a system-wide pip install), found there by the test.
  schemathesis_version=4.32.5
  venv="${CARGO_TARGET_DIR:-target}/schemathesis"
  step "schemathesis $schemathesis_version ($venv, for tests/tests/hub_api_fuzz.rs)"
  if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "version $schemathesis_version\$"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
  fi
  step "Windows cross-compilation target"
  if ! rustup target list --installed 2>/dev/null | grep -q x86_64-pc-windows-gnu; then
    rustup target add x86_64-pc-windows-gnu || echo "WARNING: cannot add the x86_64-pc-windows-gnu target; the Windows build and its tests will fail" >&2
  fi
  step "Wine prefix for the Windows build's tests (target/wine-prefix)"
  tests/wine/prefix.sh
fi
step "set-up done"
