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
http=127.0.0.1:18081; ops=127.0.0.1:19465
dir=$(mktemp -d)
ROOKERY_FRAMES_PER_MINUTE=10000000 ROOKERY_CHANNEL_MESSAGES_PER_5S=0 \
  ROOKERY_REGISTRATIONS_PER_HOUR_PER_ADDRESS=0 ROOKERY_LOG=warn \
  ROOKERY_MAX_SESSIONS_PER_USER=100000 ROOKERY_IDENTIFIES_PER_DAY=1000000 \
  "$BIN" serve --listen "$http" --ops-listen "$ops" --data-dir "$dir" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
until curl -sf "http://$ops/readyz" >/dev/null; do sleep 0.2; done
"$GEN" --server "http://$http" --server-pid "$server" --sources 16 ${INTENTS:+--intents "$INTENTS"} \
  --report "loadtest/results/big-guild-$MEMBERS${INTENTS:+-intents-$INTENTS}.json" \
  fanout --channels 1 --subscribers "$MEMBERS" --rate "$RATE" --duration-secs "$SECS" 2>&1 |
  grep -vE "^\[" || true
curl -s "http://$ops/metrics" |
  grep -E '^rookery_edge_(deliveries_total|frames_sent_total|socket_writes_total|sent_bytes_total|cache_requests_total)' || true
