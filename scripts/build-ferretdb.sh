#!/usr/bin/env bash
# Builds FerretDB v1.24.2 (the MongoDB wire-protocol server our tests run against) into
# $1 (default ~/.cache/mongosess/ferretdb-v1.24.2/ferretdb), once; later runs reuse it.
#
# Why not a plain `go install …@v1.24.2`: the module as served lacks the generated
# build/version/version.txt, and such a binary panics at start ("Invalid
# build/version/version.txt file content"). So this fetches the same module through the Go
# module proxy, writes version.txt as FerretDB's own `task gen-version` would, and builds it.
set -euo pipefail
VERSION=v1.24.2
# CI may run with a bare environment: Go needs a HOME for its caches.
if [ -z "${HOME:-}" ]; then
  HOME=$(getent passwd "$(id -u)" | cut -d: -f6)
  export HOME=${HOME:-/tmp}
fi
OUT=${1:-"${XDG_CACHE_HOME:-$HOME/.cache}/mongosess/ferretdb-$VERSION/ferretdb"}
if [ -x "$OUT" ] && "$OUT" --version >/dev/null 2>&1; then
  echo "$OUT"
  exit 0
fi
# Go's default install location, in case PATH does not name it.
command -v go >/dev/null || [ ! -x /usr/local/go/bin/go ] || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "build-ferretdb: Go is needed to build FerretDB (or set MONGODB_URI)" >&2; exit 1; }
export DO_NOT_TRACK=1 GOFLAGS=-mod=mod
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
src=$(cd "$work" && go mod download -json "github.com/FerretDB/FerretDB@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
[ -d "$src" ] || { echo "build-ferretdb: could not download FerretDB $VERSION" >&2; exit 1; }
cp -r "$src" "$work/src"
chmod -R u+w "$work/src"
echo "$VERSION" > "$work/src/build/version/version.txt"
mkdir -p "$(dirname "$OUT")"
( cd "$work/src" && { go build -o "$OUT.tmp" ./cmd/ferretdb 2>"$work/build.log" \
    || go build -ldflags=-checklinkname=0 -o "$OUT.tmp" ./cmd/ferretdb; } ) >&2
mv "$OUT.tmp" "$OUT"
echo "$OUT"
