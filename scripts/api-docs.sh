#!/usr/bin/env bash
# Regenerates the API reference (docs/api) from the TSDoc of the five entry points; settings in
# typedoc.json. Fails on a TSDoc warning (an undocumented export, a broken link), so the
# reference cannot quietly lose a page. `--out DIR` writes elsewhere (the drift test does).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
exec node node_modules/typedoc/bin/typedoc --options typedoc.json --logLevel Warn "$@"
