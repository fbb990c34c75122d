#!/usr/bin/env bash
# Runs the system-heap benchmarks with repetitions and prints each figure as a ratio to its
# baseline from the same run (median of the repetitions; p99 beside it).
#   bash bench/run.sh [REPETITIONS]        (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-10}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
build/bin/system_heap_bench --benchmark_repetitions="$reps" \
  --benchmark_report_aggregates_only=true --benchmark_format=csv >"$out" 2>/dev/null
echo "machine: $(nproc) CPUs, kernel $(uname -r), shmem THP: $(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null || echo none)"
awk -F, '
  /_median"?,/ || /_p99"?,/ {
    name=$1; gsub(/"/, "", name)
    split(name, parts, "/"); bm=parts[1]; arg=parts[2]; sub(/_(median|p99)$/, "", arg)
    stat = (name ~ /_median$/) ? "median" : "p99"
    t[bm, arg, stat] = $3; args[arg] = 1
  }
  END {
    printf "%-10s %16s %16s %12s %12s %14s %12s\n", "size", "heap ns(med)", "heap ns(p99)", \
      "/memfd", "/memfd+watch", "touch: heap ns", "/memfd"
    n = split("4096 65536 1048576 8388608 33554432 20603", order, " ")
    for (i = 1; i <= n; i++) {
      a = order[i]
      h = t["BM_SystemHeap", a, "median"]; if (h == "") continue
      printf "%-10s %16.0f %16.0f %12.2f %12.2f %14.0f %12.2f\n", a, h, t["BM_SystemHeap", a, "p99"], \
        h / t["BM_RawMemfd", a, "median"], h / t["BM_RawMemfdWatch", a, "median"], \
        t["BM_SystemHeapTouch", a, "median"], \
        t["BM_SystemHeapTouch", a, "median"] / t["BM_RawMemfdTouch", a, "median"]
    }
    printf "%-10s %18s %14s %22s %14s\n", "size", "CMA touch ns", "/system touch", "libdmabufheap Alloc ns", "/system heap"
    for (i = 1; i <= n; i++) {
      a = order[i]
      c = t["BM_CmaHeapTouch", a, "median"]; l = t["BM_DmabufheapAlloc", a, "median"]; if (c == "") continue
      printf "%-10s %18.0f %14.2f %22.0f %14.2f\n", a, c, c / t["BM_SystemHeapTouch", a, "median"], \
        l, l / t["BM_SystemHeap", a, "median"]
    }
    printf "socket round trip (ns, median): %.0f without fd, %.0f with fd\n", \
      t["BM_SocketRoundTrip", "0", "median"], t["BM_SocketRoundTrip", "1", "median"]
    printf "touch bound 32 MiB memset (ns, median): %.0f\n", t["BM_TouchBound", "33554432", "median"]
    n = split("4096 1048576", lsizes, " ")
    for (i = 1; i <= n; i++) {
      a = lsizes[i]; l = t["BM_DmabufheapDaemonAlloc", a, "median"]; if (l == "") continue
      printf "libdmabufheap Alloc via daemon %-9s %10.0f ns: %.2fx daemon ALLOC\n", a, l, \
        l / t["BM_DaemonAlloc", a, "median"]
    }
    n = split("4096 1048576 33554432", dsizes, " ")
    for (i = 1; i <= n; i++) {
      a = dsizes[i]; dd = t["BM_DaemonAlloc", a, "median"]; if (dd == "") continue
      printf "daemon ALLOC %-9s %10.0f ns (p99 %.0f): %.2fx (round trip with fd + memfd+watch)\n", a, dd, \
        t["BM_DaemonAlloc", a, "p99"], dd / (t["BM_SocketRoundTrip", "1", "median"] + t["BM_RawMemfdWatch", a, "median"])
    }
  }' "$out"
