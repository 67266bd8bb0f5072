#!/usr/bin/env bash
# Installs the Debian 12 packages datafast-mcp needs, when any is missing. With --test, also the
# packages the tests need. Uses sudo when not run as root. Prints to stderr only.
set -euo pipefail

packages=(g++ cmake make pkg-config libssl-dev libcpp-httplib-dev nlohmann-json3-dev libspdlog-dev
          libcli11-dev libboost1.81-dev libpq-dev)
if [[ "${1:-}" == "--test" ]]; then
  packages+=(doctest-dev python3 python3-jsonschema python3-yaml clang libclang-rt-14-dev postgresql-15)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "datafast-mcp: installing Debian packages: ${missing[*]}" >&2
sudo=()
[[ "$(id -u)" -ne 0 ]] && sudo=(sudo)
"${sudo[@]}" apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
  "${missing[@]}" >&2
