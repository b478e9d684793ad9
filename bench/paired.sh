#!/usr/bin/env bash
# Before/after in one sitting: runs bench/save and bench/e2e in two checkouts, alternating
# (base, this, this, base) so a drift of the machine during the sitting weighs on both alike.
# Each checkout's benchmark starts that checkout's own built server (dist/); build both first.
#
#   bash bench/paired.sh <base checkout> [sqlite|postgres|both] > bench/results/paired-<name>.txt
#
# Quote the ratio of this checkout's medians to the base's; a single pair within ±10 % is noise here.
set -euo pipefail
BASE=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")/.." && pwd)
DBS=${2:-both}
[ "$DBS" = both ] && DBS="sqlite postgres"
SAVE_ARGS=(--count 5000 --runs 3 --no-build --no-write)
E2E_ARGS=(--orders 2000 --runs 3 --no-build --no-write)

run() { # <checkout> <bench> <db> <args…>
  local dir=$1 bench=$2 db=$3
  shift 3
  echo "=== $bench $db in $dir ($(git -C "$dir" rev-parse --short HEAD)) $(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg)"
  (cd "$dir" && npx tsx "bench/$bench/run.ts" --db "$db" "$@" 2>&1)
}

for db in $DBS; do
  for dir in "$BASE" "$HERE" "$HERE" "$BASE"; do run "$dir" save "$db" "${SAVE_ARGS[@]}"; done
  for dir in "$BASE" "$HERE" "$HERE" "$BASE"; do run "$dir" e2e "$db" "${E2E_ARGS[@]}"; done
done
