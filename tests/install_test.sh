#!/usr/bin/env bash
# Installs the build tree into a temporary prefix and uses it from there, with no
# LD_LIBRARY_PATH: the daemon, the tool (dmaheap run), the shim, pkg-config and find_package.
#   install_test.sh BUILD_DIR SOURCE_DIR CONFORMANCE_BINARY
set -euo pipefail
build=$1 src=$2 conformance=$3
prefix=$(mktemp -d /tmp/dh-install.XXXXXX)
daemon_pid=
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
  rm -rf "$prefix"
}
trap cleanup EXIT
unset LD_LIBRARY_PATH LD_PRELOAD
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name libdmaheap.so -print -quit)")
for f in "$prefix/bin/dmaheapd" "$prefix/bin/dmaheap" "$libdir/libdmaheap_preload.so" \
         "$prefix/include/dmaheap/dmaheap.h" "$libdir/pkgconfig/dmaheap.pc" \
         "$libdir/cmake/dmaheap/dmaheapConfig.cmake" "$libdir/systemd/system/dmaheapd.service" \
         "$libdir/dmaheap/modules/system_heap.so" "$libdir/dmaheap/modules/cma_heap.so" \
         "$libdir/dmaheap/modules/carveout_heap.so"; do
  [ -e "$f" ] || { echo "missing from the install: $f"; exit 1; }
done

# The installed library exports the public API, the C API and the kernel API for modules, and no
# symbol of an internal class. (The symbol list is read once: grep -q may stop reading early.)
symbols=$(nm -DC --defined-only "$libdir/libdmaheap.so" | awk '{ $1 = ""; print }')
internal=$(echo "$symbols" |
  grep -E "dmaheap::(DmaBuf|DmaHeap|DmaHeapOps|DmaBufOps|BufferTable|ModuleRegistry|ModuleImage|ReservedRegion|ReservedMemory|PageAllocator|ScopedRequest|Reply|Kernel|SystemCore|HeapRegistry|CmaArea|GenPool|ExportTable|Server)::" || true)
[ -z "$internal" ] || { echo "libdmaheap.so exports internals:"; echo "$internal"; exit 1; }
echo "$symbols" | grep -qx " T dma_heap_add" ||
  { echo "libdmaheap.so does not export the kernel API"; exit 1; }
# Client is polymorphic: code that uses its type (dynamic_cast, UBSan's vptr check) needs these.
echo "$symbols" | grep -qx " V typeinfo for dmaheap::Client" ||
  { echo "libdmaheap.so does not export Client's type info"; exit 1; }

# dmaheap run from the prefix: its private daemon and shim come from the prefix too.
"$prefix/bin/dmaheap" run -- "$conformance" >"$prefix/run.log" 2>&1 || { cat "$prefix/run.log"; exit 1; }
grep -q "failed: 0" "$prefix/run.log"

# The installed daemon, detached (it returns once ready), and the installed shim.
export DMAHEAP_DIR=$prefix/h DMAHEAP_CONTROL=$prefix/h.ctl
"$prefix/bin/dmaheapd" 2>"$prefix/daemon.log"
for p in $(pgrep -x dmaheapd); do
  if tr '\0' '\n' </proc/"$p"/environ 2>/dev/null | grep -qx "DMAHEAP_DIR=$DMAHEAP_DIR"; then daemon_pid=$p; fi
done
[ -n "$daemon_pid" ] || { echo "the installed dmaheapd is not running"; cat "$prefix/daemon.log"; exit 1; }
[ -S "$DMAHEAP_DIR/system" ]
# The default board, found beside the installed library: its CMA heaps are there too.
[ -S "$DMAHEAP_DIR/default_cma_region" ] && [ -S "$DMAHEAP_DIR/linux,cma" ]
for b in default hikey960 db845c carveout-demo; do
  [ -e "$libdir/dmaheap/boards/$b.dtb" ] && [ -e "$libdir/dmaheap/boards/$b.modules.load" ] ||
    { echo "missing from the install: board $b"; exit 1; }
done
"$prefix/bin/dmaheap" board db845c | grep -q "^modules.load: system_heap$"
"$prefix/bin/dmaheap" cma | grep -q "^linux,cma/used: 0$"
LD_PRELOAD=$libdir/libdmaheap_preload.so "$conformance" >"$prefix/shim.log" 2>&1 || { cat "$prefix/shim.log"; exit 1; }
"$prefix/bin/dmaheap" stats | grep -q "heap system buffers 0"
kill "$daemon_pid"; daemon_pid=

# Consumers of the installed headers and library.
export PKG_CONFIG_PATH=$libdir/pkgconfig
cc -o "$prefix/consumer" "$src/tests/install/consumer.c" $(pkg-config --cflags --libs dmaheap)
"$prefix/consumer" | grep -q "alloc: 0"
cmake -S "$src/tests/install" -B "$prefix/cmake-consumer" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
ninja -C "$prefix/cmake-consumer" >/dev/null
"$prefix/cmake-consumer/consumer" | grep -q "allocated"
# The libdmabufheap drop-in, as Android code builds against it: its header directory, -ldmabufheap.
[ -e "$prefix/include/BufferAllocator/BufferAllocator.h" ] && [ -e "$prefix/include/BufferAllocator/BufferAllocatorWrapper.h" ]
c++ -std=c++17 -Wall -Werror -o "$prefix/bufalloc" "$src/tests/libdmabufheap/compat_check.cc" \
    -I"$prefix/include" -L"$libdir" -ldmabufheap -Wl,-rpath,"$libdir"
DMAHEAP_BACKEND=embedded "$prefix/bufalloc" | grep -q "compat_check.*: 0 failure(s)"
cc -Wall -Werror -o "$prefix/bufalloc_c" "$src/tests/libdmabufheap/compat_check.c" \
    -I"$prefix/include" -L"$libdir" -ldmabufheap -Wl,-rpath,"$libdir"
DMAHEAP_BACKEND=embedded "$prefix/bufalloc_c" | grep -q "compat_check_c: 0 failure(s)"
echo "install test: ok"
