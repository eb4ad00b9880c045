#!/usr/bin/env bash
# Server CPU per 15 s window over a long fan-out run: a cost that grows
# with uptime (a scan over versions a memtable keeps, a map that is never
# pruned) shows as a rising line, which a 15 s A/B cannot see.
#   loadtest/cpu-curve.sh target/release/rookery 150 [loadtest args...]
# Default load: fanout --channels 50 --subscribers 20 --rate 2000.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:?server binary}; SECS=${2:-150}; shift $(( $# < 2 ? $# : 2 ))
ARGS=("$@"); [ ${#ARGS[@]} -gt 0 ] || ARGS=(--channels 50 --subscribers 20 --rate 2000)
GEN=${GEN:-target/release/loadtest}
. loadtest/server.sh
start_server "$BIN"
log=$(mktemp)
"$GEN" --server "http://$http" --server-pid "$server" fanout "${ARGS[@]}" \
  --duration-secs "$SECS" >"$log" 2>&1 &
gen=$!
until grep -q measuring "$log"; do
  kill -0 "$gen" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.5
done
ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
hz=$(getconf CLK_TCK); prev=$(ticks); line=""
for _ in $(seq 1 $((SECS / 15))); do
  sleep 15
  now=$(ticks); line="$line $(( (now - prev) * 100 / (15 * hz) ))"; prev=$now
done
wait "$gen" || true
echo "server CPU % of a core per 15 s:$line"
grep -E "delivered|send→receive|send→ack|CPU" "$log"
kill "$server"; wait "$server" 2>/dev/null || true
rm -rf "$dir" "$log"
