#!/usr/bin/env bash
# Big guild: one channel whose MEMBERS members are all connected (one
# generator process; ~19k connections fit under its descriptor limit), one
# message per second for SECS seconds, on a fresh release server. Prints
# the generator's summary — "last member" is, per message, the time until
# the channel's last member had it — and the server's own counts of what
# it sent (dispatches of every kind, not only the messages).
#   cargo build --release -p rookery -p rookery-loadtest
#   MEMBERS=5000 SECS=20 loadtest/big-guild.sh [server-binary]
# INTENTS=33281 identifies every member without GUILD_PRESENCES.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/rookery}; GEN=${GEN:-target/release/loadtest}
MEMBERS=${MEMBERS:-5000}; SECS=${SECS:-20}; RATE=${RATE:-1}
. loadtest/server.sh
start_server "$BIN"
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
"$GEN" --server "http://$http" --server-pid "$server" --sources 16 ${INTENTS:+--intents "$INTENTS"} \
  --report "loadtest/results/big-guild-$MEMBERS${INTENTS:+-intents-$INTENTS}.json" \
  fanout --channels 1 --subscribers "$MEMBERS" --rate "$RATE" --duration-secs "$SECS" 2>&1 |
  grep -vE "^\[" || true
curl -s "http://$ops/metrics" |
  grep -E '^rookery_edge_(deliveries_total|frames_sent_total|socket_writes_total|sent_bytes_total|cache_requests_total)' || true
