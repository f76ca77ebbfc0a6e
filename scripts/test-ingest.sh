#!/usr/bin/env bash
# Runs the ingest function's tests (unit + integration against moto) on a developer
# machine. When PIPEWRIGHT_MOTO_ENDPOINT is already set (as in CI), that server is
# used; otherwise one is started on a free loopback port and stopped afterwards.
#   MOTO_SERVER=/path/to/moto_server scripts/test-ingest.sh [extra cargo test args]
set -euo pipefail
cd "$(dirname "$0")/.."

server="${PIPEWRIGHT_MOTO_SERVER:-${MOTO_SERVER:-$(command -v moto_server || echo .ci/.tools/venv/bin/moto_server)}}"
[ -x "$server" ] || { echo "moto_server not found (set MOTO_SERVER or PIPEWRIGHT_MOTO_SERVER)" >&2; exit 1; }
export PIPEWRIGHT_MOTO_SERVER="$server"

moto_pid=""
cleanup() { [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true; }
trap cleanup EXIT

if [ -z "${PIPEWRIGHT_MOTO_ENDPOINT:-}" ]; then
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  "$server" -H 127.0.0.1 -p "$port" >"${TMPDIR:-/tmp}/pipewright-ingest-moto.log" 2>&1 &
  moto_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  export PIPEWRIGHT_MOTO_ENDPOINT="http://127.0.0.1:$port"
fi

cargo test -p pipewright-ingest "$@"
