#!/usr/bin/env bash
# Memory per idle connection as a marginal slope: one fresh server, idle
# identified connections added in steps (one generator process per step,
# each holding its connections open), the server's RSS read once each step
# is connected and settled. The slope between two steps is what one more
# connection costs, free of the allocator reusing memory freed by account
# setup (which flatters `loadtest idle`'s own figure). The server runs with
# MIMALLOC_PURGE_DELAY=0 so its RSS tracks live memory: with mimalloc's
# default delayed purge, RSS moves in jumps of tens of MB (even down) and
# per-step slopes ranged from -13 to +17 KB per connection for one build.
#   cargo build --release -p rookery -p rookery-loadtest
#   loadtest/idle-slope.sh [server-binary]    # STEPS="2500 5000 ... 15000"
# Prints each step's slope and, last, the least-squares slope over all steps.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/rookery}; GEN=${GEN:-target/release/loadtest}
STEPS=${STEPS:-2500 5000 7500 10000 12500 15000}; SETTLE=${SETTLE:-3}
logs=$(mktemp -d)
. loadtest/server.sh
MIMALLOC_PURGE_DELAY=${MIMALLOC_PURGE_DELAY:-0} start_server "$BIN"
gens=()
cleanup() { kill "${gens[@]}" "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir" "$logs"; }
trap cleanup EXIT
rss() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
threads() { awk '/^Threads/ {print $2}' "/proc/$server/status"; }
identified() { curl -s "http://$ops/metrics" | awk '$1 ~ /^rookery_edge_connections\{state="identified"\}/ {print $2}'; }
have=0; prev_n=0; prev_rss=$(rss); step=0; points=""
echo "connections  server RSS KiB  slope from previous step (bytes/connection)"
printf '%11d  %13d  (fresh server)\n' 0 "$prev_rss"
for n in $STEPS; do
  step=$((step + 1)); add=$((n - have))
  # 127.0.0.x sources differ per step so ports do not run out.
  "$GEN" --server "http://$http" --sources 8 --report "$logs/idle-$step.json" \
    idle --connections "$add" --users 20 --hold-secs 100000 >"$logs/gen-$step.txt" 2>&1 &
  gens+=($!)
  until [ "$(identified | cut -d. -f1)" -ge "$n" ] 2>/dev/null; do
    if ! kill -0 "${gens[-1]}" 2>/dev/null; then echo "generator for step $step died:"; tail "$logs/gen-$step.txt"; exit 2; fi
    sleep 0.5
  done
  sleep "$SETTLE"
  now=$(rss)
  slope=$(( (now - prev_rss) * 1024 / (n - prev_n) ))
  printf '%11d  %13d  %d  (%d threads)\n' "$n" "$now" "$slope" "$(threads)"
  have=$n; prev_n=$n; prev_rss=$now
  points+="$n $now"$'\n'
done
# One figure for the run: the least-squares slope over every step (a single
# step's slope swings with hash tables doubling and the allocator's pages).
printf '%s' "$points" | awk '{ n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2 }
  END { b = (n * sxy - sx * sy) / (n * sxx - sx * sx); printf "least-squares slope over %d steps: %d bytes/connection\n", n, b * 1024 }'
