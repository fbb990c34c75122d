#!/usr/bin/env bash
# Sets up, builds and runs the main job: dmaheapd on the default board (a private one, started
# and stopped by `dmaheap run`) and the CMA demo against it — a producer fills a 1080p frame from
# the CMA heap, a consumer process checks it, `dmaheap dump` shows both holders, lsmod --proc-modules shows the
# heap [permanent] and rmmod is refused. Then devices (HiKey's display refuses a system buffer
# and maps a CMA one; db845c's codec maps a system buffer as one IOVA range; a heap chosen for
# two devices), the embedded demo, and an unmodified UAPI program, dynamic and -static, against a
# private daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
echo "== dmaheapd --board default, and a producer and a consumer sharing a CMA frame =="
build/bin/dmaheap board default | grep -E "^(memory|reserved-memory|  |modules)"
build/bin/dmaheap run --board default -- build/bin/dmaheap-cma-demo
echo
echo "== devices: why HiKey's display needs CMA and db845c's does not =="
build/bin/dmaheap devices --board hikey960
echo "\$ dmaheap attach --board hikey960 --heap system --device dpe@e8600000 8M"
build/bin/dmaheap attach --board hikey960 --heap system --device dpe@e8600000 8M 2>&1 &&
  { echo "expected EINVAL: a scattered buffer for a contiguous-only display" >&2; exit 1; } || true
echo "\$ dmaheap attach --board hikey960 --heap default_cma_region --device dpe@e8600000 8M"
build/bin/dmaheap attach --board hikey960 --heap default_cma_region --device dpe@e8600000 8M
echo "\$ dmaheap attach --board db845c --heap system --device video-codec@aa00000 8M"
build/bin/dmaheap attach --board db845c --heap system --device video-codec@aa00000 8M
echo "\$ dmaheap alloc --board db845c --for display-subsystem@ae00000,video-codec@aa00000 8M"
build/bin/dmaheap alloc --board db845c --for display-subsystem@ae00000,video-codec@aa00000 8M
echo
echo "== the embedded API: a System booted in-process =="
build/bin/dmaheap-demo
echo
echo "== an unmodified /dev/dma_heap program under 'dmaheap run' (daemon + shim) =="
build/bin/dmaheap run -- build/bin/heap_conformance | grep -E "^(# |not ok)"
echo
echo "== the same program built -static (served by the seccomp supervisor) =="
build/bin/dmaheap run -- build/bin/heap_conformance_static --static-memfd | grep -E "^(# |not ok)"
