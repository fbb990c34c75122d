#!/usr/bin/env bash
# Sets up, builds and runs the main job: the embedded demo (a System booted in-process, a
# producer and a consumer process sharing one system-heap buffer), then an unmodified UAPI
# program — dynamic, then -static — against a private dmaheapd under `dmaheap run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
build/bin/dmaheap-demo
echo
echo "== an unmodified /dev/dma_heap program under 'dmaheap run' (daemon + shim) =="
build/bin/dmaheap run -- build/bin/heap_conformance | grep -E "^(# |not ok)" 
echo
echo "== the same program built -static (served by the seccomp supervisor) =="
build/bin/dmaheap run -- build/bin/heap_conformance_static --static-memfd | grep -E "^(# |not ok)"
echo
echo "== the system heap is a permanent module: lsmod, then a refused rmmod =="
build/bin/dmaheap run -- /bin/sh -c 'build/bin/dmaheap lsmod; build/bin/dmaheap rmmod system_heap || echo "(refused, as the kernel refuses a permanent module)"'
