#!/usr/bin/env bash
# RoleGen end to end on the embedded default: installs Azurite (npm, into .tools/) if missing, starts it on 127.0.0.1,
# builds the CLI, generates the seeded demo world, runs a nightly run through the local durable host, prints the
# summary and where the results are, and stops what it started.
#   ./run.sh                       # the demo (20,000 users)
#   ./run.sh --users 200000        # any `rolegen demo` option passes through (./run.sh --help)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
command -v dotnet >/dev/null || { echo "run.sh: the .NET 10 SDK is required (dotnet not on PATH)." >&2; exit 3; }

# shellcheck source=scripts/azurite-session.sh
source scripts/azurite-session.sh

echo "run.sh: building the rolegen CLI (Release)..."
dotnet build src/Cli/Cli.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
# libtorch (backbone training) spins OpenMP threads actively unless told otherwise: keep them passive.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
dotnet src/Cli/bin/Release/net10.0/rolegen.dll demo "$@"
