#!/usr/bin/env bash
# Installs every Debian package GRETA's build and tests need, plus a Python venv for the
# reference scripts. Idempotent and quiet: re-running it on a set-up machine does nothing.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build pkg-config git python3-venv
  libfmt-dev nlohmann-json3-dev libpcre2-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
  clang-14 libclang-rt-14-dev
  libamdhip64-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python venv for reference-vector scripts and tests that compare against the `gguf` package.
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
  echo "setup: creating $venv"
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import gguf, numpy" 2>/dev/null; then
  echo "setup: installing Python packages into $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/scripts/requirements.txt"
fi
