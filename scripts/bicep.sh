#!/usr/bin/env bash
# Bicep CLI for the infrastructure under infra/bicep: installs it from NuGet into .tools/bicep (once) and checks
# the templates with zero tolerance for warnings.
#
#   scripts/bicep.sh install   # idempotent; prints the binary path
#   scripts/bicep.sh check     # build main.bicep + main.bicepparam and lint; any error OR warning fails (exit 1)
#   scripts/bicep.sh <args>    # anything else is passed to the bicep binary, e.g. `scripts/bicep.sh --version`
#
# Why NuGet: no network here but the package registries; the Bicep CLI ships as a self-contained binary inside
# the Azure.Bicep.CommandLine.<rid> package. It is pulled with a throwaway PackageDownload project (made in a
# temp dir outside the repo so Directory.*.props / central package management do not apply).
# Warnings are fatal twice over: infra/bicep/bicepconfig.json raises the linter rules to "error", and this script
# also fails on any "Warning"/"Error" diagnostic line (compiler BCPxxx warnings are not configurable as rules).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BICEP_VERSION="${BICEP_VERSION:-0.49.2}"
case "$(uname -m)" in
  x86_64|amd64) rid=linux-x64 ;;
  aarch64|arm64) rid=linux-arm64 ;;
  *) echo "bicep.sh: unsupported architecture $(uname -m)" >&2; exit 3 ;;
esac
pkg="Azure.Bicep.CommandLine.$rid"
tools="$root/.tools/bicep"
bin="$tools/$BICEP_VERSION/bicep"
main="$root/infra/bicep/main.bicep"
params="$root/infra/bicep/main.bicepparam"
out="$root/.artifacts/bicep"
# The Bicep CLI is a single-file .NET app: run it without ICU when libicu is missing.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if ! ldconfig -p 2>/dev/null | grep libicuuc >/dev/null; then export DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1; fi

install() {
  [ -x "$bin" ] && return 0
  command -v dotnet >/dev/null || { echo "bicep.sh: dotnet not found; it is needed to fetch $pkg from NuGet." >&2; exit 3; }
  echo "bicep.sh: installing Bicep $BICEP_VERSION ($pkg) from NuGet into .tools/bicep (first run only)..." >&2
  local tmp; tmp="$(mktemp -d)"
  cat > "$tmp/fetch.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>netstandard2.0</TargetFramework>
    <ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="$pkg" Version="[$BICEP_VERSION]" />
  </ItemGroup>
</Project>
XML
  # Empty Directory.*.props so nothing from a parent folder leaks in.
  echo '<Project />' > "$tmp/Directory.Build.props"
  echo '<Project />' > "$tmp/Directory.Packages.props"
  mkdir -p "$tools/nuget"
  if ! (cd "$tmp" && dotnet restore fetch.csproj --packages "$tools/nuget" --nologo -v q >"$tmp/restore.log" 2>&1); then
    echo "bicep.sh: dotnet restore of $pkg $BICEP_VERSION failed:" >&2; tail -20 "$tmp/restore.log" >&2; rm -rf "$tmp" "$tools/nuget"; exit 3
  fi
  rm -rf "$tmp"
  local found
  found="$(find "$tools/nuget/$(echo "$pkg" | tr '[:upper:]' '[:lower:]')/$BICEP_VERSION" -type f -name bicep 2>/dev/null | head -1)"
  [ -n "$found" ] || { echo "bicep.sh: no 'bicep' binary inside $pkg $BICEP_VERSION" >&2; exit 3; }
  mkdir -p "$(dirname "$bin")"
  cp "$found" "$bin.tmp" && chmod +x "$bin.tmp" && mv "$bin.tmp" "$bin"
  rm -rf "$tools/nuget"
  "$bin" --version >/dev/null 2>&1 || { echo "bicep.sh: installed $bin does not run:" >&2; "$bin" --version >&2 || true; exit 3; }
}

# run LABEL CMD...: runs a bicep command; a non-zero exit or any Warning/Error diagnostic counts as a problem.
# Diagnostics go to $diag (deduplicated at the end: build and lint report the same ones).
problems=0
diag=""
run() {
  local label="$1"; shift
  local log rc=0
  log="$("$bin" "$@" 2>&1)" || rc=$?
  if [ "$rc" -ne 0 ] || grep -Eq ': (Warning|Error) |^(Warning|Error)[ :]' <<<"$log"; then
    problems=$((problems + 1))
    diag+="$(printf '%s\n' "$log" | grep -Ev '^[[:space:]]*$' | sed "s|$root/||g")"$'\n'
    echo "bicep.sh: $label: exit $rc, diagnostics reported" >&2
  fi
}

check() {
  install
  [ -f "$main" ] || { echo "bicep.sh: $main not found" >&2; exit 3; }
  mkdir -p "$out"
  local t0=$SECONDS
  run "build main.bicep" build "$main" --outfile "$out/main.json"
  run "lint main.bicep" lint "$main"
  if [ -f "$params" ]; then
    run "build-params main.bicepparam" build-params "$params" --outfile "$out/main.parameters.json"
    run "lint main.bicepparam" lint "$params"
  fi
  if [ "$problems" -ne 0 ]; then
    printf '%s' "$diag" | awk 'NF && !seen[$0]++' >&2
    echo "bicep.sh: FAILED: $problems step(s) reported errors or warnings (warnings are fatal)." >&2
    exit 1
  fi
  echo "bicep.sh: OK: Bicep $BICEP_VERSION build + lint of infra/bicep clean (0 errors, 0 warnings, $((SECONDS - t0)) s)."
}

case "${1:-check}" in
  install) install; echo "$bin" ;;
  check) check ;;
  *) install; exec "$bin" "$@" ;;
esac
