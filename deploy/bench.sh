#!/usr/bin/env bash
# The benchmark suite (README "Benchmarks"): installs the pinned nats-server, builds
# dondoc and the bench in release mode, and runs every scenario, dondoc beside the raw
# substrate in the same run. Results: bench/results/latest.md and results.jsonl.
# Arguments go to dondoc-bench (--quick: a tiny run that only checks the suite works).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./deploy/install-nats-server.sh
cargo build --release --quiet -p dondoc -p dondoc-bench
exec target/release/dondoc-bench "$@"
