#!/usr/bin/env bash
# Sets up, builds and runs every test (unit, integration, a benchmark smoke run) with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
DMAHEAP_WERROR=ON bash scripts/build.sh
ctest --test-dir build --output-on-failure -j2 --timeout 300
