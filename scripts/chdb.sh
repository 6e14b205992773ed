#!/usr/bin/env bash
# Installs chDB's libchdb.so (ClickHouse 26.5 as an embedded library, from the
# npm registry) into the user's cache and prints its path. internal/modernch
# runs every migration, dashboard and alert query on it: the modern ClickHouse
# beside Debian's 18.16. Pinned version, checksum verified, idempotent: a
# second run only prints the path.
set -euo pipefail
version=26.5.3
url=https://registry.npmjs.org/@chdb/lib-linux-x64-gnu/-/lib-linux-x64-gnu-$version.tgz
# npm's dist.integrity of that tarball (sha512, here in hex).
sha512=7cfacb991b79328a2bf721b3e266b36eb3637b8b7b5fd281da64c6917156471441b3688acbcca1ea3c75d71b1ad10af788314c53fc87a9df9b55d6095eedd069
dir=${XDG_CACHE_HOME:-$HOME/.cache}/journeys/chdb-$version
lib=$dir/libchdb.so
# The library is moved into place only once verified: its presence is the proof.
if [ ! -f "$lib" ]; then
  if [ "$(uname -sm)" != "Linux x86_64" ]; then
    echo "chdb.sh: the npm package holds libchdb.so for Linux x86_64 only, not $(uname -sm)" >&2
    exit 1
  fi
  mkdir -p "$dir"
  tmp=$(mktemp -d "$dir/download.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  echo "chdb.sh: downloading chDB $version (166 MB) from $url" >&2
  curl -fsSL --retry 3 -o "$tmp/lib.tgz" "$url"
  got=$(sha512sum "$tmp/lib.tgz" | cut -d' ' -f1)
  if [ "$got" != "$sha512" ]; then
    echo "chdb.sh: $url has sha512 $got, want $sha512" >&2
    exit 1
  fi
  tar -xzf "$tmp/lib.tgz" -C "$tmp" package/libchdb.so
  mv "$tmp/package/libchdb.so" "$lib"
fi
echo "$lib"
