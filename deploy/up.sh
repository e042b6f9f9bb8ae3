#!/usr/bin/env bash
# The main job: the whole dondoc stack on this machine. Installs the pinned nats-server
# (first run only), builds dondoc, and runs `dondoc up`: an embedded nats-server with
# JetStream in ./data, the projection, and the gRPC API on 127.0.0.1:50051, loaded with
# the sample plan (Quảng Ngãi 189/KH-UBND, Phụ lục 2) on first start.
# Extra arguments go to `dondoc up` (see `dondoc up --help`). Stop with Ctrl-C.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./deploy/install-nats-server.sh
exec cargo run -p dondoc -- up "$@"
