#!/usr/bin/env bash
# Reconnect storm on a fresh release server: CHANNELS × 20 connections,
# RATE messages/s throughout; DROP_AFTER seconds in, every listener drops
# its connection at once (no close frame) and reconnects after a random
# wait of up to BACKOFF_MS, half with RESUME and half with IDENTIFY and
# the last message id it holds. Prints the generator's summary: drop → live
# percentiles (max = until all are live again), completeness (every acked
# message delivered to every member once), server CPU and RSS peak.
#   cargo build --release -p rookery -p rookery-loadtest
#   CHANNELS=500 loadtest/storm.sh [server-binary]     # 10,000 connections
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/rookery}; GEN=${GEN:-target/release/loadtest}
CHANNELS=${CHANNELS:-500}; RATE=${RATE:-500}; DROP_AFTER=${DROP_AFTER:-5}
BACKOFF_MS=${BACKOFF_MS:-5000}; SECS=${SECS:-20}
. loadtest/server.sh
start_server "$BIN"
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
"$GEN" --server "http://$http" --server-pid "$server" --sources 16 \
  --report "loadtest/results/storm-$((CHANNELS * 20)).json" \
  storm --channels "$CHANNELS" --subscribers 20 --rate "$RATE" \
  --drop-after-secs "$DROP_AFTER" --backoff-ms "$BACKOFF_MS" --duration-secs "$SECS" 2>&1 |
  grep -vE "^\[" || true
curl -s "http://$ops/metrics" |
  grep -E '^rookery_edge_(sessions_resumed_total|sessions_identified_total|sessions_ended_total|closes_total)' || true
