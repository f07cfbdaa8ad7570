#!/usr/bin/env bash
# The test command: every project (unit, property, integration, chaos reduced). Without MONGODB_URI it starts
# the project's own FerretDB first; with it, the integration tests run against that server.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z "${MONGODB_URI:-}" ]]; then
  MONGODB_URI=$("$root/scripts/db.sh" start)
  export MONGODB_URI
fi
# The dashboard's browser tests drive Debian's Chromium; install it when it is missing.
if [[ -z "${CHROMIUM_PATH:-}" ]]; then
  CHROMIUM_PATH=$("$root/scripts/chromium.sh")
  export CHROMIUM_PATH
fi
# The network fault tests (chaos) need iproute2 and libfaketime.
"$root/scripts/net-tools.sh"
exec "$root/node_modules/.bin/vitest" run "$@"
