#!/usr/bin/env bash
# All the tests: formatting, lints, unit and property tests of every crate, the
# cross-process system tests (real nats-server, real dondoc processes, gRPC on loopback),
# and the benchmark suite in its quick mode (it must run; its figures are not checked).
# Installs the pinned nats-server first if it is missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./deploy/install-nats-server.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo test --workspace
cargo build --quiet -p dondoc -p dondoc-bench
bench_out="$(mktemp -d)"
target/debug/dondoc-bench --quick --out "$bench_out" > /dev/null
rm -rf "$bench_out"
