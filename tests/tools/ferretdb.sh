#!/usr/bin/env bash
# Build FerretDB 1.24 (MongoDB wire protocol over SQLite) for the test suite and print its path.
#
# Usage: tests/tools/ferretdb.sh          -> prints the binary path on stdout (build logs on stderr)
# Cache: ${KSERVER_CACHE:-$HOME/.cache/kserver}/bin/ferretdb; the build is skipped when it exists.
#
# Why not a bare `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`: that binary
# panics at start-up ("Invalid build/version/version.txt file content") because the module zip
# lacks the generated build/version/version.txt (FerretDB issue #2982). So `go install`-style we
# fetch the exact module through the Go module proxy, add version.txt to a private copy and build.
set -euo pipefail

VERSION="v1.24.2"
MODULE="github.com/FerretDB/FerretDB"
CACHE="${KSERVER_CACHE:-$HOME/.cache/kserver}"
BIN_DIR="$CACHE/bin"
BIN="$BIN_DIR/ferretdb"

if [[ -x "$BIN" ]]; then
    echo "$BIN"
    exit 0
fi

if ! command -v go >/dev/null 2>&1; then
    {
        echo "############################################################################"
        echo "# ERROR: 'go' is not on PATH: cannot build FerretDB $VERSION for the tests."
        echo "# Install Go >= 1.22 (https://go.dev/dl/) or put a ferretdb binary at"
        echo "#   $BIN"
        echo "############################################################################"
    } >&2
    exit 1
fi

mkdir -p "$BIN_DIR"
work="$(mktemp -d "${TMPDIR:-/tmp}/ferretdb-build.XXXXXX")"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

echo "ferretdb.sh: fetching $MODULE@$VERSION" >&2
src="$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$MODULE@$VERSION" \
    | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
if [[ -z "$src" || ! -d "$src" ]]; then
    echo "ferretdb.sh: ERROR: go mod download gave no source directory for $MODULE@$VERSION" >&2
    exit 1
fi

cp -R "$src" "$work/src"
chmod -R u+w "$work/src"
echo "$VERSION" > "$work/src/build/version/version.txt"

echo "ferretdb.sh: building $VERSION into $BIN (takes a minute on a cold cache)" >&2
(cd "$work/src" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -o "$BIN.tmp" ./cmd/ferretdb) >&2
mv "$BIN.tmp" "$BIN"
echo "$BIN"
