#!/usr/bin/env bash
# All the tests: formatting, lints, unit and property tests of every crate, and the
# cross-process system tests (real nats-server, real dondoc processes, gRPC on loopback).
# Installs the pinned nats-server first if it is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./deploy/install-nats-server.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace
