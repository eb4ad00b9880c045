#!/usr/bin/env bash
# The fan-out scenario through the cluster shape on the real engines, or on
# the embedded single node, for the side-by-side in loadtest/README.md:
#
#   loadtest/real-engines.sh cluster RATE [SECONDS] [REPORT]
#   loadtest/real-engines.sh embedded RATE [SECONDS] [REPORT]
#
# cluster: Apache Cassandra and Apache Kafka (engines/run start), `rookery
# migrate` and `topics ensure` (16 partitions) under fresh names, two
# writers on the Cassandra store and two edges, the generator split over
# both edges (--procs 2). embedded: `rookery serve` on a fresh data dir.
# Both: `fanout --channels 50 --subscribers 20 --rate RATE` for SECONDS
# (default 15). Prints the generator's summary with each process's CPU
# over the measured phase, the writers' store-write p99 and the largest
# consumer lag they reported, the driver's request latency and Cassandra's
# own write latency (nodetool).
# BUS_OPTIONS adds librdkafka properties to the bus URL (`&linger.ms=0`);
# CHANNELS and SUBSCRIBERS change the shape (default 50 and 20); BIN is
# the folder of the `rookery` and `loadtest` binaries (A/B of two builds).
# Needs `cargo build --release -p rookery -p rookery-loadtest`.
set -euo pipefail
cd "$(dirname "$0")/.."
shape="${1:?cluster or embedded}"
rate="${2:?messages per second}"
seconds="${3:-15}"
report="${4:-/tmp/loadtest-$shape-$rate.json}"
bin="${BIN:-target/release}"
run_dir="$(mktemp -d -t rookery-bench.XXXXXX)"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
export ROOKERY_LOG=warn ROOKERY_FRAMES_PER_MINUTE=10000000 ROOKERY_REGISTRATIONS_PER_HOUR_PER_ADDRESS=0
export ROOKERY_CHANNEL_MESSAGES_PER_5S=0

# Waits for `GET /readyz` on $1.
ready() {
  for _ in $(seq 1 200); do
    curl -sf --max-time 2 "http://$1/readyz" >/dev/null && return 0
    sleep 0.1
  done
  echo "no ready answer from $1" >&2
  exit 1
}

# The smallest histogram buckets holding 50 % and 99 % of $2's samples at
# $1/metrics (whole process lifetime), in ms.
quantiles() {
  curl -s "http://$1/metrics" | python3 -c '
import sys
name = sys.argv[1]
buckets = []
for line in sys.stdin:
    if line.startswith(name + "_bucket{"):
        le = line.split("le=\"")[1].split("\"")[0]
        buckets.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
buckets.sort()
total = buckets[-1][1] if buckets else 0
def q(f):
    return next((f"<= {le * 1000:g}" for le, n in buckets if total and n >= f * total), "none")
print(f"p50 {q(0.5)} ms, p99 {q(0.99)} ms")
' "$2"
}

# Where the time goes, from a node's own histograms.
stages() {
  for metric in rookery_bus_publish_duration_seconds rookery_edge_persisted_to_delivered_seconds \
    rookery_writer_batch_duration_seconds rookery_store_write_duration_seconds; do
    if curl -s "http://$1/metrics" | grep -q "^${metric}_bucket"; then
      echo "  $1 $metric: $(quantiles "$1" "$metric")"
    fi
  done
}

# The largest value of gauge $2 at $1/metrics.
gauge_max() {
  curl -s "http://$1/metrics" | awk -v n="$2" 'index($0, n) == 1 { v = $NF + 0; if (v > m) m = v } END { print m + 0 }'
}

generate() {
  "$bin/loadtest" "$@" --report "$report" fanout --channels "${CHANNELS:-50}" \
    --subscribers "${SUBSCRIBERS:-20}" \
    --rate "$rate" --duration-secs "$seconds"
}

if [ "$shape" = embedded ]; then
  "$bin/rookery" serve --listen 127.0.0.1:8080 --data-dir "$run_dir/data" &
  pids+=($!)
  ready 127.0.0.1:8080
  generate --server-pid "${pids[0]}"
  stages 127.0.0.1:9464
  exit 0
fi

engines/run start >/dev/null
name="bench_$(date +%s)"
store="scylla://127.0.0.1:9042/$name"
bus="kafka://127.0.0.1:9092?topic=$name.events&interest_topic=$name.interest&ephemeral_topic=$name.ephemeral${BUS_OPTIONS:-}"
export ROOKERY_JWT_SECRET="bench-secret-of-at-least-thirty-two-bytes"
export ROOKERY_LINK_SECRET="bench-link-secret-of-at-least-thirty-two-bytes"
"$bin/rookery" migrate --store "$store" --replication simple:1 2>/dev/null
"$bin/rookery" topics ensure --bus "$bus" --replication-factor 1 --partitions 16 2>/dev/null
for w in 0 1; do
  "$bin/rookery" writer --bus "$bus" --store "$store" --worker-id "1$w" \
    --data-dir "$run_dir/w$w" --listen "127.0.0.1:910$w" --internal-listen "127.0.0.1:707$w" &
  pids+=($!)
done
ready 127.0.0.1:9100
ready 127.0.0.1:9101
for e in 1 2; do
  "$bin/rookery" edge --bus "$bus" --store "$store" --worker-id "$e" --data-dir "$run_dir/e$e" \
    --writers 127.0.0.1:7070,127.0.0.1:7071 --listen "127.0.0.1:808$e" --ops-listen "127.0.0.1:946$e" &
  pids+=($!)
done
ready 127.0.0.1:8081
ready 127.0.0.1:8082
engines_dir="${ROOKERY_ENGINES_DIR:-${TMPDIR:-/tmp}/rookery-engines}"
cpu_of="writer-0=${pids[0]},writer-1=${pids[1]},edge-1=${pids[2]},edge-2=${pids[3]}"
cpu_of="$cpu_of,cassandra=$(cat "$engines_dir/cassandra/pid"),kafka=$(cat "$engines_dir/kafka/pid")"
(
  while sleep 1; do
    for w in 9100 9101; do gauge_max "127.0.0.1:$w" rookery_bus_consumer_lag_records; done
  done
) >"$run_dir/lag" &
sampler=$!
generate --server http://127.0.0.1:8081,http://127.0.0.1:8082 --procs 2 --cpu-of "$cpu_of"
kill "$sampler" 2>/dev/null || true
lag=$(sort -n "$run_dir/lag" | tail -1)
for node in 127.0.0.1:9461 127.0.0.1:9100 127.0.0.1:9101; do stages "$node"; done
for w in 9100 9101; do
  curl -s "http://127.0.0.1:$w/metrics" |
    grep -E '^rookery_scylla_(request_latency_seconds|requests_total|batch_rows_(sum|count))' || true
done
echo "largest consumer lag reported: ${lag:-0} records"
engines/run nodetool tablestats "$name.messages" 2>/dev/null | grep -E 'Local write (count|latency)'
