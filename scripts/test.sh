#!/usr/bin/env bash
# The test command, in two legs on one server:
#
#   1. every project (unit, property, integration, chaos reduced) on the server's own capabilities;
#   2. the integration and chaos projects again with the other capability set forced
#      (PROCSTATE_CAPABILITIES), so that MongoDB's code paths and FerretDB's both run, whatever
#      the server is (docs/persistence.md, "Server capabilities").
#
# Without MONGODB_URI it starts the project's own FerretDB first. Arguments go to vitest in both
# legs; the second leg runs only the integration and chaos projects among those asked for.
#
# Environment: PROCSTATE_TEST_LEGS=server runs the first leg only. PROCSTATE_TEST_REPORTS=DIR
# writes each leg's vitest JSON report to DIR/<leg>.json (CI counts them). PROCSTATE_COVERAGE=1
# collects V8 coverage of the MongoDB store and the Agenda layer per leg into
# .cache/coverage/<leg>/ and prints the merged report (scripts/coverage-report.ts).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
if [[ -z "${MONGODB_URI:-}" ]]; then
  MONGODB_URI=$("$root/scripts/db.sh" start) || exit 1
  # The server is known: a test checks that detection says so.
  export MONGODB_URI PROCSTATE_TEST_SERVER=ferretdb
fi
# The dashboard's browser tests drive Debian's Chromium; install it when it is missing.
if [[ -z "${CHROMIUM_PATH:-}" ]]; then
  CHROMIUM_PATH=$("$root/scripts/chromium.sh") || exit 1
  export CHROMIUM_PATH
fi
# The network fault tests (chaos) need iproute2 and libfaketime.
"$root/scripts/net-tools.sh" || exit 1

vitest="$root/node_modules/.bin/vitest"
legs="${PROCSTATE_TEST_LEGS:-server,forced}"

# The projects the arguments ask for (none: all), and the arguments without them.
asked=()
rest=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --project) asked+=("$2"); shift 2 ;;
    --project=*) asked+=("${1#--project=}"); shift ;;
    *) rest+=("$1"); shift ;;
  esac
done

# Flags for a leg's report and coverage.
leg_flags() {
  local leg=$1
  if [[ -n "${PROCSTATE_TEST_REPORTS:-}" ]]; then
    mkdir -p "$PROCSTATE_TEST_REPORTS"
    printf '%s\n' --reporter=default --reporter=json "--outputFile.json=$PROCSTATE_TEST_REPORTS/$leg.json"
  fi
  if [[ "${PROCSTATE_COVERAGE:-}" == 1 ]]; then
    printf '%s\n' --coverage.enabled "--coverage.reportsDirectory=$root/.cache/coverage/$leg"
  fi
}

status=0
if [[ ",$legs," == *,server,* ]]; then
  echo "test.sh: leg 1, the server's own capabilities" >&2
  mapfile -t flags < <(leg_flags server)
  projects=()
  for project in "${asked[@]}"; do projects+=(--project "$project"); done
  "$vitest" run "${projects[@]}" "${flags[@]}" "${rest[@]}" || status=1
fi

if [[ ",$legs," == *,forced,* ]]; then
  projects=()
  if [[ ${#asked[@]} -eq 0 ]]; then
    projects=(--project integration --project chaos)
  else
    for project in "${asked[@]}"; do
      [[ "$project" == integration || "$project" == chaos ]] && projects+=(--project "$project")
    done
  fi
  if [[ ${#projects[@]} -gt 0 ]]; then
    # The other set than the server's: test/helpers/capability-legs.ts says which, and what
    # FerretDB cannot execute of MongoDB's.
    forced=$(node --import tsx "$root/test/helpers/capability-legs.ts" "$MONGODB_URI") || { echo "test.sh: could not ask the server its capabilities" >&2; exit 1; }
    echo "test.sh: leg 2, PROCSTATE_CAPABILITIES=$forced" >&2
    mapfile -t flags < <(leg_flags forced)
    PROCSTATE_CAPABILITIES=$forced "$vitest" run "${projects[@]}" --passWithNoTests "${flags[@]}" "${rest[@]}" || status=1
  fi
fi

if [[ "${PROCSTATE_COVERAGE:-}" == 1 ]]; then
  node --import tsx "$root/scripts/coverage-report.ts" "$root/.cache/coverage" || status=1
fi
exit "$status"
