#!/usr/bin/env bash
# Configures and builds dmaheap into build/ (Ninja, two jobs: the CI machine has two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
werror=OFF
[ "${CI:-}" = "true" ] && werror=ON
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDMAHEAP_WERROR="${DMAHEAP_WERROR:-$werror}" >/dev/null
ninja -C build -j2
