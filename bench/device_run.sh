#!/usr/bin/env bash
# Runs the device benchmarks with repetitions and prints each figure as a ratio to its baseline
# from the same run (medians).   bash bench/device_run.sh [REPETITIONS]   (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-10}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
build/bin/device_bench --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_format=csv >"$out" 2>/dev/null
awk -F, '
  /_median"?,/ {
    name=$1; gsub(/"/, "", name); sub(/_median$/, "", name)
    split(name, p, "/"); t[p[1], p[2]] = $3
  }
  END {
    printf "%-10s %12s %14s %10s %14s %10s\n", "size", "alloc ns", "attach iommu", "/alloc", \
      "attach direct", "/alloc"
    n = split("65536 1048576 8388608", order, " ")
    for (i = 1; i <= n; i++) {
      a = order[i]; base = t["BM_Alloc", a]
      printf "%-10s %12.0f %14.0f %10.2f %14.0f %10.2f\n", a, base, t["BM_AttachIommu", a], \
        t["BM_AttachIommu", a] / base, t["BM_AttachDirect", a], t["BM_AttachDirect", a] / base
    }
    l = t["BM_DaemonSyncLocal", "1048576"]; m = t["BM_DaemonSyncMapped", "1048576"]
    printf "SYNC pair, daemon buffer: %.0f ns unmapped, %.0f ns mapped by a device (%.1fx)\n", l, m, m / l
  }' "$out"
