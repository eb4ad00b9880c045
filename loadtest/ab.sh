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
http=127.0.0.1:18081; ops=127.0.0.1:19465
for run in $(seq 1 "$RUNS"); do
  for side in A B; do
    bin=${!side}; dir=$(mktemp -d)
    ROOKERY_FRAMES_PER_MINUTE=10000000 ROOKERY_CHANNEL_MESSAGES_PER_5S=0 \
      ROOKERY_REGISTRATIONS_PER_HOUR_PER_ADDRESS=0 ROOKERY_LOG=warn \
      ROOKERY_MAX_SESSIONS_PER_USER=100000 ROOKERY_IDENTIFIES_PER_DAY=1000000 \
      "$bin" serve --listen "$http" --ops-listen "$ops" --data-dir "$dir" &
    pid=$!
    until curl -sf "http://$ops/readyz" >/dev/null; do sleep 0.2; done
    echo "== $side run $run ($bin)"
    "$GEN" --server "http://$http" --server-pid "$pid" \
      --report "loadtest/results/$LABEL-$side-$run.json" "$@" 2>&1 |
      grep -vE "^\[|progress" || true
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
  done
done
