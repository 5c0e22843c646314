#!/usr/bin/env bash
# Install what building and testing Cairn needs on a fresh Debian machine.
# Idempotent: installs only what is missing. Every step is decided by the
# Debian package itself (`dpkg -s`) or by the exact capability the build
# uses, never by a loose file glob: a fresh image ships libclang-cpp.so.14,
# which a glob for libclang*.so* mistakes for the libclang.so that
# clang-sys (RocksDB's bindings) needs.
set -euo pipefail
export HOME="${HOME:-/root}"

# has_pkg NAME: the package is installed (not merely known or removed).
has_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

need=()
has_pkg libclang-dev || need+=(libclang-dev)            # clang-sys: libclang.so
has_pkg time || need+=(time)                            # /usr/bin/time in the benchmarks
if [ "${CAIRN_SKIP_RESTIC:-}" != 1 ]; then
  has_pkg restic || need+=(restic)                      # side-by-side benchmarks
fi
if [ "${1:-}" = --bench ]; then
  has_pkg borgbackup || need+=(borgbackup)              # scripts/bench.sh only
fi
# The MongoDB test server lives in a venv; Debian's own python3 needs
# python3-venv for that, a pyenv or source-built Python has it built in.
if [ "$(command -v python3)" = /usr/bin/python3 ]; then has_pkg python3-venv || need+=(python3-venv); fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo (Rust toolchain) is required" >&2; exit 1; }

# Tools built with `cargo install` once per machine, into a cache outside
# the clone, and rebuilt only when the exact binary at the pinned version
# is missing.
TOOLS="${CAIRN_TOOLS:-$HOME/.cache/cairn-tools}"
# install_tool NAME VERSION CARGO-ARGS...: cargo install unless
# $TOOLS/NAME/bin/NAME reports VERSION.
install_tool() {
  local name=$1 version=$2; shift 2
  local bin="$TOOLS/$name/bin/$name"
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -qF "$version"; then return; fi
  echo "setup: building $name $version into $TOOLS/$name (once per machine)"
  env -u CARGO_TARGET_DIR cargo install --quiet --locked --force --root "$TOOLS/$name" "$name@$version" "$@"
}
# cargo-deb builds the Debian package (scripts/package-deb.sh and its test).
CARGO_DEB_VERSION=3.7.0

# Modes: `--build-only` (the demo) and `--bench` (scripts/bench.sh, which
# also needs borg, above) stop here; `--package` (package-deb.sh) adds
# cargo-deb; no argument (the test suite) installs everything below.
case "${1:-}" in
  --build-only|--bench) exit 0 ;;
  --package) install_tool cargo-deb "$CARGO_DEB_VERSION"; exit 0 ;;
  "") ;;
  *) echo "setup: unknown argument '$1' (--build-only, --bench, --package or none)" >&2; exit 2 ;;
esac

# SecantusDB, a MongoDB-wire-compatible server, for the MongoDB tests; in a
# venv outside the clone so repeat runs reuse it.
VENV="${CAIRN_VENV:-$HOME/.cache/cairn-venv}"
SECANTUS_VERSION="0.7.0b3"
if ! "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('SecantusDB') == '$SECANTUS_VERSION'" 2>/dev/null; then
  echo "setup: installing SecantusDB $SECANTUS_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "SecantusDB==$SECANTUS_VERSION"
fi
# The reference restorer's pinned packages (tests/e2e/reference.rs), into
# the same venv: installed when any pinned NAME==VERSION is not exactly
# what `pip show NAME` reports.
REF_REQ="$(dirname "$0")/../format-spec/reference/requirements.txt"
ref_missing=0
while read -r name version; do
  [ "$("$VENV/bin/pip" show "$name" 2>/dev/null | sed -n 's/^Version: //p')" = "$version" ] || ref_missing=1
done < <(sed -n 's/^\([A-Za-z0-9_.-]*\)==\([^ ]*\)$/\1 \2/p' "$REF_REQ")
if [ "$ref_missing" = 1 ]; then
  echo "setup: installing the reference restorer's requirements into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REF_REQ"
fi

# The S3 test servers: s3s-fs (a filesystem-backed S3 server) and Garage
# (a geo-distributed store; the tests run a 3-node cluster on loopback).
# And cargo-deb, for the test of the Debian package.
install_tool s3s-fs 0.14.1 --features binary
install_tool garage 2.5.0
install_tool cargo-deb "$CARGO_DEB_VERSION"
