#!/usr/bin/env bash
# Run HERE (the Debian development machine), not on the GPU machine: downloads the Debian
# packages the GPU machine lacks (it has no network) and unpacks them into .deps/, an ignored
# folder that device runs carry. What the GPU machine lacks: PCRE2's headers (its libpcre2-8.so.0
# is there) and GoogleTest (built there from source).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
deps=$here/.deps
mkdir -p "$deps/debs"
cd "$deps/debs"
for pkg in libpcre2-dev googletest; do
  ls "${pkg}"_*.deb >/dev/null 2>&1 || apt-get download -qq "$pkg"
done
for deb in *.deb; do dpkg-deb -x "$deb" "$deps/root"; done
echo "gpu-deps: unpacked into $deps/root (carry .deps in device runs)"
