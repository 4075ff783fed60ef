#!/usr/bin/env bash
# joinkit benchmarks (issue 2 goals): builds the release binary and prints the numbers.
#   bash bench/run.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q
exec python3 bench/bench.py target/release/joinkit "${1:-30}"
