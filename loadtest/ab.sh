#!/usr/bin/env bash
# A/B of two server builds on one loadtest command: alternating runs, a
# fresh server and data dir per run, the same generator binary. Prints each
# run's summary lines and the server's CPU per delivery.
#   A=/tmp/base/rookery B=target/release/rookery RUNS=3 \
#     loadtest/ab.sh fanout --channels 50 --subscribers 20 --rate 2000 --duration-secs 15
# Reports go to loadtest/results/ab-<label>-<run>.json (LABEL, default "ab").
set -euo pipefail
cd "$(dirname "$0")/.."
A=${A:?A=path of the first server binary}; B=${B:?B=path of the second server binary}
RUNS=${RUNS:-3}; LABEL=${LABEL:-ab}; GEN=${GEN:-target/release/loadtest}
. loadtest/server.sh
for run in $(seq 1 "$RUNS"); do
  for side in A B; do
    bin=${!side}
    start_server "$bin"
    echo "== $side run $run ($bin)"
    "$GEN" --server "http://$http" --server-pid "$server" --server-metrics "http://$ops/metrics" \
      --report "loadtest/results/$LABEL-$side-$run.json" "$@" 2>&1 |
      grep -vE "^\[|progress" || true
    kill "$server"; wait "$server" 2>/dev/null || true
    rm -rf "$dir"
  done
done
