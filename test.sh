#!/usr/bin/env bash
# Every test of RoleGen, from a clean clone: restores and builds the solution (warnings are errors), checks the Bicep
# infrastructure (build + lint, no warnings), starts Azurite for the integration tests (installing it from npm into
# .tools/ if missing) and stops it again, runs every test project, and ends with one line: 'N passed, N failed, N skipped'.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v dotnet >/dev/null || { echo "test.sh: the .NET 10 SDK is required (dotnet not on PATH)." >&2; exit 3; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

echo "== build (Release, warnings as errors)"
dotnet build RoleGen.sln -c Release -nologo -v quiet -clp:ErrorsOnly

echo "== infrastructure: bicep build + lint"
scripts/bicep.sh check

echo "== azurite"
started_azurite=no
if ! scripts/azurite.sh status >/dev/null 2>&1; then
  scripts/azurite.sh start
  started_azurite=yes
fi
cleanup() { if [ "$started_azurite" = yes ]; then scripts/azurite.sh stop; fi; }
trap cleanup EXIT

echo "== tests"
mkdir -p .artifacts
log=.artifacts/test-output.log
set +e
dotnet test RoleGen.sln -c Release --no-build -nologo -v quiet --logger "console;verbosity=normal" 2>&1 | tee "$log" | grep -vE '^\s+Passed |^\s*$'
status=${PIPESTATUS[0]}
set -e
# One summary line over all test assemblies ("Passed!  - Failed: 0, Passed: 42, Skipped: 0, Total: 42 ...").
awk '/(Passed|Failed)! +- +Failed:/ {
       gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1); if ($i == "Skipped:") s += $(i+1) }
       n++ }
     END { if (n == 0) { print "test.sh: no test assembly reported results" > "/dev/stderr"; exit 1 }
           printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log" || status=1
exit "$status"
