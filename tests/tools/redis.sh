#!/usr/bin/env bash
# Make sure redis-server is installed (the realtime cross-node tests start their own) and print its path.
#
# Usage: tests/tools/redis.sh   -> prints the redis-server path on stdout (install logs on stderr)
# Installs Debian's redis-server with apt-get when missing (needs root; non-interactive).
set -euo pipefail

if bin="$(command -v redis-server)"; then
    echo "$bin"
    exit 0
fi

if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "redis.sh: ERROR: redis-server is missing and cannot be installed here (needs root and apt-get)" >&2
    exit 1
fi

echo "redis.sh: installing redis-server with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends redis-server >&2
command -v redis-server
