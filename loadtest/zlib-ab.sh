#!/usr/bin/env bash
# zlib-stream A/B: the same release build, `fanout` over JSON with and
# without `compress=zlib-stream`, alternating, a fresh server and data dir
# per run. Prints each run's summary, the server's CPU, and the gateway
# bytes it sent (and, compressed, the bytes before compression).
#   cargo build --release -p rookery -p rookery-loadtest
#   RATE=1000 RUNS=3 SECS=15 loadtest/zlib-ab.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-1000}; RUNS=${RUNS:-3}; SECS=${SECS:-15}
bin=target/release
http=127.0.0.1:18081; ops=127.0.0.1:19465
metric() { curl -s "http://$ops/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
for run in $(seq 1 "$RUNS"); do
  for mode in plain zlib; do
    dir=$(mktemp -d)
    ROOKERY_FRAMES_PER_MINUTE=10000000 ROOKERY_CHANNEL_MESSAGES_PER_5S=0 \
      ROOKERY_REGISTRATIONS_PER_HOUR_PER_ADDRESS=0 ROOKERY_LOG=warn \
      "$bin/rookery" serve --listen "$http" --ops-listen "$ops" --data-dir "$dir" &
    pid=$!
    until curl -sf "http://$ops/readyz" >/dev/null; do sleep 0.2; done
    flag=(); [ "$mode" = zlib ] && flag=(--zlib)
    echo "== $mode run $run"
    "$bin/loadtest" --server "http://$http" --server-pid "$pid" --encoding json "${flag[@]}" \
      --report "loadtest/results/fanout-50x20-$RATE-zlib-ab-$mode.json" \
      fanout --channels 50 --subscribers 20 --rate "$RATE" --duration-secs "$SECS" 2>&1 |
      grep -E "acked/s|send→receive|send→ack|CPU" || true
    echo "  gateway bytes sent $(metric rookery_edge_sent_bytes_total), before deflate $(metric rookery_edge_deflate_input_bytes_total)"
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$dir"
  done
done
