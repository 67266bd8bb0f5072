#!/usr/bin/env bash
# Installs the pinned test-only Node tools (tools/conformance: Node 22, the MCP conformance
# suites, the TypeScript SDK clients, the inspector) with `npm ci`, unless they are already in
# place for the current lockfile. Safe to run concurrently (flock). Prints to stderr only.
set -euo pipefail
cd "$(dirname "$0")/../tools/conformance"

if ! command -v npm >/dev/null 2>&1; then
  echo "datafast-mcp: npm is missing; installing Debian's nodejs and npm" >&2
  sudo=()
  [[ "$(id -u)" -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends nodejs npm >&2
fi

exec 9>.install.lock
flock 9
stamp=node_modules/.installed-lock
if [[ -x node_modules/.bin/node && -f $stamp ]] && cmp -s package-lock.json "$stamp"; then
  exit 0
fi
echo "datafast-mcp: installing the Node test tools (npm ci in tools/conformance)" >&2
npm ci --no-audit --no-fund --loglevel=error >&2
cp package-lock.json "$stamp"
