#!/usr/bin/env bash
# make test: start one throwaway ClickHouse for the whole run and run every
# test against it. Integration tests fail, never skip, without ClickHouse.
# make chaos (scripts/test.sh chaos): the same, but only the fault-injection
# suite, long (CHAOS_LONG=1), with its figures printed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
dir=$(mktemp -d /tmp/journeys-test-clickhouse.XXXXXX)
addr_file="$dir/addr"
# Built first and run directly, so that the trap's signal reaches the
# server's owner and not a `go run` wrapper.
$GO build -o "$dir/chserver" ./internal/chserver/cmd/chserver
"$dir/chserver" --dir "$dir/server" --addr-file "$addr_file" > "$dir/run.log" 2>&1 &
ch=$!
trap 'kill -TERM $ch 2>/dev/null; wait $ch 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 900); do
  [ -s "$addr_file" ] && break
  kill -0 $ch 2>/dev/null || { echo "throwaway ClickHouse failed to start:"; cat "$dir/run.log"; exit 1; }
  sleep 0.1
done
[ -s "$addr_file" ] || { echo "throwaway ClickHouse did not start in 90s"; cat "$dir/run.log"; exit 1; }
export JOURNEYS_TEST_CLICKHOUSE=$(cat "$addr_file")
echo "throwaway ClickHouse at $JOURNEYS_TEST_CLICKHOUSE"
if [ "${1:-}" = chaos ]; then
  set +e
  CHAOS_LONG=1 $GO test -count=1 -timeout 90m -v ./internal/chaos/ 2>&1 | tee "$dir/chaos.log"
  status=${PIPESTATUS[0]}
  echo "== fault-injection figures ($(date -u +%F), load $(cut -d' ' -f1-3 /proc/loadavg))"
  grep -o 'CHAOS .*' "$dir/chaos.log" | grep -v 'broke a guarantee' || true
  exit $status
fi
# The modern ClickHouse (chDB's 26.5, 166 MB from npm once, then cached) for
# internal/modernch; chdb-go loads it from $CHDB_LIB_PATH.
CHDB_LIB_PATH=$(bash scripts/chdb.sh)
export CHDB_LIB_PATH
set +e
$GO test -count=1 -timeout 20m ./... 2>&1 | tee "$dir/go-test.log"
status=${PIPESTATUS[0]}
set -e
# Short fuzzing of the request decoder: malformed input must never panic.
if [ "$status" -eq 0 ]; then
  $GO test -run '^$' -fuzz '^FuzzDecode$' -fuzztime 20s ./ingest/ || status=$?
fi
# And of the check of what valid JSON downstream readers cannot hold.
if [ "$status" -eq 0 ]; then
  $GO test -run '^$' -fuzz '^FuzzUnsafeJSON$' -fuzztime 10s ./ingest/ || status=$?
fi
exit $status
