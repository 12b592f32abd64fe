#!/usr/bin/env bash
# Sets up everything on a fresh Debian 12 machine, builds studioflow and runs
# every test (unit, end-to-end, reference checks) with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
jobs="$(nproc 2>/dev/null || echo 2)"
ctest --test-dir build/release --output-on-failure -j "$jobs" "$@"
