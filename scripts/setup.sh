#!/usr/bin/env bash
# Install what building and testing Cairn needs on a fresh Debian machine.
# Idempotent: installs only what is missing.
set -euo pipefail
export HOME="${HOME:-/root}"
need=()
[ -e /usr/lib/llvm-14/lib/libclang.so ] || ls /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1 || need+=(libclang-dev)
command -v restic >/dev/null 2>&1 || [ "${CAIRN_SKIP_RESTIC:-}" = 1 ] || need+=(restic)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo (Rust toolchain) is required" >&2; exit 1; }

# SecantusDB, a MongoDB-wire-compatible server, for the MongoDB tests; in a
# venv outside the clone so repeat runs reuse it.
VENV="${CAIRN_VENV:-$HOME/.cache/cairn-venv}"
SECANTUS_VERSION="0.7.0b3"
if ! "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('SecantusDB') == '$SECANTUS_VERSION'" 2>/dev/null; then
  echo "setup: installing SecantusDB $SECANTUS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "SecantusDB==$SECANTUS_VERSION"
fi
