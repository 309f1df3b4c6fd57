#!/usr/bin/env bash
# Any rolegen command on the embedded default: starts Azurite (installing it into .tools/ if missing) unless one
# answers, builds the CLI, runs `rolegen "$@"`, and stops Azurite if it started it.
#   scripts/rolegen.sh bench nightly --users 100000,300000,1000000
#   scripts/rolegen.sh eval --data ../shared/data/taobao-head/UserBehavior_head_raw.csv --format taobao
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v dotnet >/dev/null || { echo "rolegen.sh: the .NET 10 SDK is required (dotnet not on PATH)." >&2; exit 3; }
# shellcheck source=azurite-session.sh
source scripts/azurite-session.sh
dotnet build src/Cli/Cli.csproj -c Release -nologo -v quiet -clp:ErrorsOnly
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
dotnet src/Cli/bin/Release/net10.0/rolegen.dll "$@"
