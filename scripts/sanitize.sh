#!/usr/bin/env bash
# Builds dmaheap with ASan+UBSan into build-asan/ (a second build directory) and runs every test
# there. Modules are never instrumented (their only undefined symbols must be the kernel API's),
# nor are the -static conformance programs (ASan cannot link -static); the preload shim is, so
# ASan's link-order check is off: the shim is LD_PRELOADed ahead of the runtime on purpose. And
# ASan leaves SIGSEGV alone (handle_segv=0): the shim brings its runtime into programs such as
# /bin/sh, whose crashes the tests expect to see as crashes, and the sync sanitizer's own
# SIGSEGV handler must get the faults it is for.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DDMAHEAP_BUILD_BENCH=OFF \
  -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined" >/dev/null
ninja -C build-asan -j2
ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=1:handle_segv=0 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j2 --timeout 600
