#!/usr/bin/env bash
# The network fault tests make hosts with iproute2 (ip netns, veth, tc) and skew clocks with
# libfaketime; install what is missing when we are root. The tests skip, saying why, without them.
set -uo pipefail
missing=()
command -v ip >/dev/null || missing+=(iproute2)
command -v faketime >/dev/null || missing+=(faketime)
if [[ ${#missing[@]} -eq 0 ]]; then exit 0; fi
if [[ $(id -u) -ne 0 ]]; then
  echo "net-tools.sh: ${missing[*]} missing and not root; the network fault tests will skip" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends "${missing[@]}" >&2 || { apt-get update >&2 && apt-get install -y --no-install-recommends "${missing[@]}" >&2; } || echo "net-tools.sh: could not install ${missing[*]}" >&2
exit 0
