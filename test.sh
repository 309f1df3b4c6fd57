#!/usr/bin/env bash
# Every test of RoleGen, from a clean clone: restores and builds the solution (warnings are errors), checks the Bicep
# infrastructure (build + lint, no warnings), starts Azurite for the integration tests (installing it from npm into
# .tools/ if missing) and stops it again, runs every test project, and ends with one line: 'N passed, N failed, N skipped'.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v dotnet >/dev/null || { echo "test.sh: the .NET 10 SDK is required (dotnet not on PATH)." >&2; exit 3; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# libtorch (backbone training tests) spins OpenMP threads actively unless told otherwise: keep them passive.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

echo "== restore (locked mode: packages.lock.json must match the package graph)"
dotnet restore RoleGen.sln --locked-mode -nologo -v quiet

echo "== build (Release, warnings as errors)"
dotnet build RoleGen.sln -c Release --no-restore -nologo -v quiet -clp:ErrorsOnly

echo "== infrastructure: bicep build + lint"
scripts/bicep.sh check

echo "== azurite"
# shellcheck source=scripts/azurite-session.sh
source scripts/azurite-session.sh

echo "== tests"
mkdir -p .artifacts
log=.artifacts/test-output.log
set +e
dotnet test RoleGen.sln -c Release --no-build -nologo -v quiet --logger "console;verbosity=normal" --blame-hang-timeout 10m 2>&1 | tee "$log" | grep -vE '^\s+Passed |^\s*$'
status=${PIPESTATUS[0]}
set -e
# One summary line over all test assemblies (vstest prints "Total tests: N / Passed: N / Failed: N / Skipped: N" per
# assembly; an aborted assembly — a crashed test host — counts as one failure on top of what it reported).
awk '/^Test Run (Successful|Failed|Aborted)\./ { n++; if ($3 == "Aborted.") f++ }
     /^ +Passed: +[0-9]+/  { p += $2 }
     /^ +Failed: +[0-9]+/  { f += $2 }
     /^ +Skipped: +[0-9]+/ { s += $2 }
     END { if (n == 0) { print "test.sh: no test assembly reported results" > "/dev/stderr"; exit 1 }
           printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log" || status=1
exit "$status"
