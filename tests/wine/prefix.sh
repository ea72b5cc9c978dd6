#!/usr/bin/env bash
# Makes a Wine prefix in which the agent's Windows build runs: created without a
# display or dialogs, with the bcryptprimitives.dll stub (see bcryptprimitives.c)
# in its system32. Idempotent; prints nothing but errors when the prefix is ready.
#   tests/wine/prefix.sh [PREFIX]    (default: target/wine-prefix)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prefix="${1:-$here/../../target/wine-prefix}"
mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
export WINEPREFIX="$prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64

for tool in wine wineserver x86_64-w64-mingw32-gcc; do
  command -v "$tool" >/dev/null || { echo "tests/wine/prefix.sh: $tool is missing (scripts/setup.sh test installs it)" >&2; exit 1; }
done

stub="$prefix/bcryptprimitives.dll"
if [ ! -f "$stub" ] || [ "$here/bcryptprimitives.c" -nt "$stub" ]; then
  x86_64-w64-mingw32-gcc -O2 -s -shared -o "$stub.tmp" \
    "$here/bcryptprimitives.c" "$here/bcryptprimitives.def" -ladvapi32
  mv "$stub.tmp" "$stub"
fi

system32="$prefix/drive_c/windows/system32"
if [ ! -f "$prefix/system.reg" ] || [ ! -d "$system32" ]; then
  wineboot -i >/dev/null 2>&1
  wineserver -w
fi
if ! cmp -s "$stub" "$system32/bcryptprimitives.dll"; then
  cp "$stub" "$system32/bcryptprimitives.dll"
fi

# A Chinese font where the agent looks for one on Windows (crates/agent/src/printing/
# fonts.rs: C:\Windows\Fonts\msyh.ttc), so that its unit tests under Wine, where
# fontconfig is not asked, render and check Chinese text instead of finding no font.
cjk=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
[ -f "$cjk" ] || { echo "tests/wine/prefix.sh: $cjk is missing (scripts/setup.sh test installs fonts-wqy-microhei)" >&2; exit 1; }
fonts="$prefix/drive_c/windows/Fonts"
if ! cmp -s "$cjk" "$fonts/msyh.ttc"; then
  mkdir -p "$fonts"
  cp "$cjk" "$fonts/msyh.ttc"
fi

# A stand-in for Edge's DevTools pipe (fake-devtools.c), where the agent's Windows unit
# tests look for it: C:\printrelay-tests\fake-devtools.exe.
tools="$prefix/drive_c/printrelay-tests"
if [ ! -f "$tools/fake-devtools.exe" ] || [ "$here/fake-devtools.c" -nt "$tools/fake-devtools.exe" ]; then
  mkdir -p "$tools"
  x86_64-w64-mingw32-gcc -O2 -s -o "$tools/fake-devtools.exe.tmp" "$here/fake-devtools.c"
  mv "$tools/fake-devtools.exe.tmp" "$tools/fake-devtools.exe"
fi
