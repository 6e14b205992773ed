#!/usr/bin/env bash
# make demo: start `journeys dev` (embedded Kafka broker and a ClickHouse of
# its own under ./var), send a simulated month of traffic through the HTTP
# API, print the friction report read back from ClickHouse, and write it as
# a self-contained HTML page (var/report.html).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./bin/journeys
data=./var
customers=${DEMO_CUSTOMERS:-2000}
rm -f "$data/dev.env"
mkdir -p "$data"

"$bin" dev --data "$data" --listen 127.0.0.1:${DEMO_PORT:-8080} > "$data/dev.log" 2>&1 &
dev=$!
trap 'kill -TERM $dev 2>/dev/null; wait $dev 2>/dev/null || true' EXIT

for _ in $(seq 1 600); do
  [ -f "$data/dev.env" ] && break
  kill -0 $dev 2>/dev/null || { echo "journeys dev exited; its log:"; cat "$data/dev.log"; exit 1; }
  sleep 0.1
done
[ -f "$data/dev.env" ] || { echo "journeys dev did not start in 60s; its log:"; cat "$data/dev.log"; exit 1; }
set -a; . "$data/dev.env"; set +a
echo "journeys dev is up: API $JOURNEYS_URL, ClickHouse $JOURNEYS_CLICKHOUSE, Kafka $JOURNEYS_KAFKA (log: $data/dev.log)"

out=$("$bin" simulate --customers "$customers" --write-key dev)
echo "$out"
acked=$(echo "$out" | sed -n 's/.*: \([0-9]*\) events acknowledged.*/\1/p')
echo
echo "== Friction report (read back from ClickHouse) =="
"$bin" report --wait-touchpoints "$acked" --timeout 3m --html "$data/report.html"
echo "Open it in a browser or attach it to a mail: $(cd "$data" && pwd)/report.html"
