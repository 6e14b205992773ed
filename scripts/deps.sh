#!/usr/bin/env bash
# Installs what `make demo` and `make test` need and a fresh Debian machine
# lacks: ClickHouse (Debian's clickhouse-server), promtool, chromium and curl.
# (make test then installs chDB, the modern ClickHouse: scripts/chdb.sh.)
set -euo pipefail
need=()
command -v clickhouse-server >/dev/null 2>&1 || [ -x /usr/sbin/clickhouse-server ] || need+=(clickhouse-server)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v chromium >/dev/null 2>&1 || need+=(chromium) # the browser SDK's tests (sdk/js)
command -v curl >/dev/null 2>&1 || need+=(curl ca-certificates) # scripts/chdb.sh fetches chDB from npm
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]} with apt-get"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The package starts its system service; Journeys never uses it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet clickhouse-server 2>/dev/null; then
  systemctl stop clickhouse-server || true
fi
