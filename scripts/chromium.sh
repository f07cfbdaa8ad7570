#!/usr/bin/env bash
# Prints the path of a Chromium for the browser tests, installing Debian's package when it is
# missing and we are root (CI machines are fresh). CHROMIUM_PATH overrides it.
set -euo pipefail
if [[ -n "${CHROMIUM_PATH:-}" ]]; then
  echo "$CHROMIUM_PATH"
  exit 0
fi
for candidate in /usr/bin/chromium /usr/bin/chromium-browser; do
  if [[ -x "$candidate" ]]; then
    echo "$candidate"
    exit 0
  fi
done
if [[ $(id -u) -ne 0 ]]; then
  echo "chromium.sh: Chromium is not installed and only root can install it: apt-get install chromium, or set CHROMIUM_PATH" >&2
  exit 1
fi
echo "chromium.sh: installing Debian's chromium for the browser tests" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y --no-install-recommends chromium >&2; then
  apt-get update >&2
  apt-get install -y --no-install-recommends chromium >&2
fi
echo /usr/bin/chromium
