#!/usr/bin/env bash
# Sets up, builds and runs the main job: today the embedded demo — a System booted in-process,
# a producer and a consumer process sharing one system-heap buffer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
exec build/dmaheap-demo
