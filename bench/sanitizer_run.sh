#!/usr/bin/env bash
# What the sync sanitizer costs: sync_bench under `dmaheap run`, with --sanitize=sync:continue
# (A) and without (B), in turn (A B A B ...), each run with repetitions; prints per benchmark
# the median of B, of A, and A/B taken pair by pair (median of the pairs' ratios), so a drift of
# the machine's speed between runs does not move the ratio.
#   bash bench/sanitizer_run.sh [PAIRS] [REPETITIONS]        (after scripts/build.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-3}
reps=${2:-5}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for i in $(seq "$pairs"); do
  for mode in A B; do
    sanitize=()
    [[ $mode == A ]] && sanitize=(--sanitize=sync:continue)
    build/bin/dmaheap run "${sanitize[@]}" -- build/bin/sync_bench \
      --benchmark_repetitions="$reps" --benchmark_min_time=0.2 \
      --benchmark_report_aggregates_only=true \
      --benchmark_format=csv >"$dir/$mode.$i.csv" 2>/dev/null
  done
done
echo "machine: $(nproc) CPUs, kernel $(uname -r); $pairs pairs of runs, $reps repetitions each"
awk -F, '
  FNR == 1 { split(FILENAME, f, "/"); split(f[length(f)], parts, "."); mode = parts[1]; run = parts[2] }
  /_median"?,/ {
    name = $1; gsub(/"/, "", name); sub(/_median$/, "", name)
    t[name, mode, run] = $3; runs[run] = 1
    if (!(name in seen)) { seen[name] = 1; order[++count] = name }
  }
  function median(a, n,   i, j, x) {
    for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    printf "%-28s %14s %14s %10s\n", "benchmark", "plain ns", "sanitized ns", "ratio"
    for (k = 1; k <= count; k++) {
      name = order[k]; m = 0
      for (r in runs) { m++; a[m] = t[name, "A", r]; b[m] = t[name, "B", r]; q[m] = a[m] / b[m] }
      printf "%-28s %14.0f %14.0f %10.2f\n", name, median(b, m), median(a, m), median(q, m)
    }
  }' "$dir"/*.csv
