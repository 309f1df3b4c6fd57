#!/usr/bin/env bash
# Azurite for local runs and tests: installs it from npm into .tools/azurite (once), starts it disk-backed
# on 127.0.0.1, waits until blob/queue/table answer, and stops only what it started.
#
#   scripts/azurite.sh start     # idempotent; reuses an Azurite already listening on the blob port
#   scripts/azurite.sh stop      # stops the instance this script started (pid file), nothing else
#   scripts/azurite.sh status
#
# Environment: AZURITE_BLOB_PORT (10000), AZURITE_QUEUE_PORT (10001), AZURITE_TABLE_PORT (10002),
#              AZURITE_DIR (.azurite under the repository root).
# Why these flags (docs/FINDINGS.md): --skipApiVersionCheck because Azure.Storage.Blobs 12.30 sends a newer
# service version than Azurite 3.37 knows; disk-backed --location because --inMemoryPersistence stalls
# under durable load.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AZURITE_VERSION=3.37.0
tools="$root/.tools/azurite"
dir="${AZURITE_DIR:-$root/.azurite}"
blob="${AZURITE_BLOB_PORT:-10000}"; queue="${AZURITE_QUEUE_PORT:-10001}"; table="${AZURITE_TABLE_PORT:-10002}"
pidfile="$dir/azurite.pid"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

install() {
  if [ ! -f "$tools/node_modules/azurite/dist/src/azurite.js" ]; then
    command -v npm >/dev/null || { echo "azurite.sh: npm not found. Install Node.js 20+ and npm (apt-get install nodejs npm)." >&2; exit 3; }
    echo "azurite.sh: installing azurite@$AZURITE_VERSION into .tools/azurite (first run only, ~30 s)..."
    mkdir -p "$tools"
    [ -f "$tools/package.json" ] || echo '{"name":"rolegen-tools","private":true}' > "$tools/package.json"
    npm install --prefix "$tools" --no-audit --no-fund --loglevel=error "azurite@$AZURITE_VERSION" >/dev/null
  fi
}

start() {
  if port_open "$blob"; then
    echo "azurite.sh: something already listens on 127.0.0.1:$blob; reusing it (not started by this script)."
    return 0
  fi
  install
  mkdir -p "$dir/data"
  nohup node "$tools/node_modules/azurite/dist/src/azurite.js" \
    --blobHost 127.0.0.1 --blobPort "$blob" --queueHost 127.0.0.1 --queuePort "$queue" \
    --tableHost 127.0.0.1 --tablePort "$table" --skipApiVersionCheck --disableTelemetry --loose \
    --location "$dir/data" >"$dir/azurite.log" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 120); do
    if port_open "$blob" && port_open "$queue" && port_open "$table"; then
      echo "azurite.sh: Azurite $AZURITE_VERSION up on 127.0.0.1:$blob/$queue/$table (pid $(cat "$pidfile"), data in $dir/data)."
      return 0
    fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "azurite.sh: Azurite exited during start-up; its log:" >&2; tail -20 "$dir/azurite.log" >&2; exit 4
    fi
    sleep 0.5
  done
  echo "azurite.sh: Azurite did not open its ports within 60 s; see $dir/azurite.log" >&2; exit 4
}

stop() {
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"; for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -9 "$pid" 2>/dev/null || true
      echo "azurite.sh: stopped Azurite (pid $pid)."
    fi
    rm -f "$pidfile"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  install) install ;;
  status) if port_open "$blob"; then echo "up on 127.0.0.1:$blob"; else echo "down"; exit 1; fi ;;
  *) echo "usage: scripts/azurite.sh start|stop|status|install" >&2; exit 2 ;;
esac
