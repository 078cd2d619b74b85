#!/usr/bin/env bash
# Make sure a program from Debian's packages is installed and print its path.
#
# Usage: tests/tools/debian.sh <command> <package>   -> prints the command's path on stdout
# (install logs on stderr). Installs <package> with apt-get when <command> is missing (needs root;
# non-interactive).
set -euo pipefail
command_name=$1
package=$2

if bin="$(command -v "$command_name")"; then
    echo "$bin"
    exit 0
fi

if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "debian.sh: ERROR: $command_name is missing and cannot be installed here (needs root and apt-get)" >&2
    exit 1
fi

echo "debian.sh: installing $package with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
# tests/run calls this once per program: the package lists are refreshed only when none is from
# the last hour, so a fresh machine downloads them once, not once per program.
if [[ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mmin -60 -print -quit 2>/dev/null)" ]]; then
    apt-get update -qq >&2
fi
apt-get install -y -qq --no-install-recommends "$package" >&2
command -v "$command_name"
