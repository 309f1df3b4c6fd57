#!/usr/bin/env bash
# Screenshot of a RoleGen HTML report in headless Chromium (Debian package `chromium`), written OUTSIDE the repo.
#   scripts/screenshot-report.sh [report.html] [out.png] [height]
# Default report: the newest .rolegen/runs/*/report.html; default output: ${TMPDIR:-/tmp}/rolegen-report-<run>.png.
# Needs `chromium` on PATH (as root: apt-get install chromium); exits 3 with that hint otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
report="${1:-}"
if [[ -z "$report" ]]; then
  report="$(ls -t .rolegen/runs/*/report.html 2>/dev/null | head -1 || true)"
  [[ -n "$report" ]] || { echo "screenshot-report.sh: no .rolegen/runs/*/report.html; run ./run.sh first or pass a report." >&2; exit 2; }
fi
[[ -f "$report" ]] || { echo "screenshot-report.sh: '$report' is not a file." >&2; exit 2; }
run="$(basename "$(dirname "$(realpath "$report")")")"
out="${2:-${TMPDIR:-/tmp}/rolegen-report-$run.png}"
height="${3:-5000}"
case "$(realpath -m "$out")" in
  "$(pwd)"/*) echo "screenshot-report.sh: write the screenshot outside the repo (got $out)." >&2; exit 2 ;;
esac
browser="$(command -v chromium || command -v chromium-browser || true)"
[[ -n "$browser" ]] || { echo "screenshot-report.sh: chromium not found (apt-get install chromium)." >&2; exit 3; }
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --user-data-dir="$profile" \
  --window-size="1280,$height" --screenshot="$out" "file://$(realpath "$report")" >/dev/null 2>&1
[[ -s "$out" ]] || { echo "screenshot-report.sh: chromium wrote no screenshot." >&2; exit 1; }
echo "$out"
