#!/usr/bin/env bash
# Regenerates the dashboard screenshots in docs/images from the browser test's own run (an
# upload of 200 entries on FerretDB with Agenda). Times and ids differ from run to run, so CI
# never compares them; run this after changing what the dashboard shows.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$root/docs/images"
PROCSTATE_SCREENSHOTS="$root/docs/images" "$root/scripts/test.sh" test/integration/dashboard-browser.test.ts
