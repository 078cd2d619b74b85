#!/usr/bin/env bash
# Make sure Debian's chromium is installed (the dashboard test drives it headless) and print its path.
#
# Usage: tests/tools/chromium.sh   -> prints the chromium path on stdout (install logs on stderr)
# Installs chromium with apt-get when missing (needs root; non-interactive).
set -euo pipefail

if bin="$(command -v chromium)"; then
    echo "$bin"
    exit 0
fi

if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "chromium.sh: ERROR: chromium is missing and cannot be installed here (needs root and apt-get)" >&2
    exit 1
fi

echo "chromium.sh: installing chromium with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium >&2
command -v chromium
