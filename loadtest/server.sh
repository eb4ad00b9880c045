# Sourced by the loadtest scripts: starts a release server on a fresh data
# dir with the limits load runs need lifted, and waits until it is ready.
#   start_server BINARY    # sets $server (pid), $dir, $http and $ops
# The default inbound budget (120 frames/min per connection) is sized for
# people; load senders offer far more, register thousands of accounts from
# a few addresses, and hold many sessions per account.
http=127.0.0.1:18081; ops=127.0.0.1:19465
start_server() {
  dir=$(mktemp -d)
  ROOKERY_FRAMES_PER_MINUTE=10000000 ROOKERY_CHANNEL_MESSAGES_PER_5S=0 \
    ROOKERY_REGISTRATIONS_PER_HOUR_PER_ADDRESS=0 ROOKERY_LOG=warn \
    ROOKERY_MAX_SESSIONS_PER_USER=100000 ROOKERY_IDENTIFIES_PER_DAY=1000000 \
    "$1" serve --listen "$http" --ops-listen "$ops" --data-dir "$dir" &
  server=$!
  until curl -sf "http://$ops/readyz" >/dev/null; do
    kill -0 "$server" 2>/dev/null || { echo "server $1 failed to start" >&2; return 1; }
    sleep 0.2
  done
}
