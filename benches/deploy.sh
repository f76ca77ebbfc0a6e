#!/usr/bin/env bash
# Deploy benchmark against moto (issue 5): wall and CPU time of
#   - a first deploy of the reference spec's `dev` stacks with --concurrency 1 and 4,
#   - a no-op redeploy (target: under 2 s, nothing uploaded, nothing updated).
# Each first deploy gets a fresh moto state (POST /moto-api/reset). The function zip is
# a small stand-in given with --lambda-zip, so bundling is not timed. CPU is reported
# for pipewright (user+sys of the process) and for the moto server (from /proc).
#   bash benches/deploy.sh [RUNS]     (default 3; prints a Markdown table)
#   BENCH_ENV=prod bash benches/deploy.sh   the pci-dss environment: replica region first,
#                                           prefix-list lookups, and the replica stack's second pass
# Needs moto_server on PATH, in .ci/.tools/venv (after `bash .ci/run`), or MOTO_SERVER=/path/to/it.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
server="${MOTO_SERVER:-$(command -v moto_server || echo .ci/.tools/venv/bin/moto_server)}"
cargo build --quiet -p pipewright
pw="$(pwd)/target/debug/pipewright"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto=$!
trap 'kill $moto 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 150); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
ep="http://127.0.0.1:$port"
export AWS_ENDPOINT_URL="$ep" AWS_REGION=eu-west-2 AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
       AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
python3 - "$work/ingest.zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("bootstrap", "#!/bin/sh\n")
PY

moto_cpu() { python3 -c "import os,sys; f=open('/proc/$moto/stat').read().rsplit(')',1)[1].split(); t=os.sysconf('SC_CLK_TCK'); print((int(f[11])+int(f[12]))/t)"; }

# One timed deploy; prints "wall user+sys moto_cpu".
timed() {
  local m0 m1
  m0=$(moto_cpu)
  /usr/bin/time -f '%e %U %S' -o "$work/t" "$pw" deploy pipeline.yaml --env "${BENCH_ENV:-dev}" --method direct \
    --moto-compat --yes --lambda-zip "$work/ingest.zip" --format json "$@" >"$work/out.json" 2>"$work/err" ||
    { cat "$work/err" "$work/out.json"; exit 1; }
  m1=$(moto_cpu)
  read -r wall user sys <"$work/t"
  python3 -c "print($wall, round($user+$sys, 2), round($m1-$m0, 2))"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A wall cpu mcpu
for c in 1 4; do
  : >"$work/first-$c"
  : >"$work/noop-$c"
  for _ in $(seq "$runs"); do
    curl -s -X POST "$ep/moto-api/reset" >/dev/null
    timed --concurrency "$c" >>"$work/first-$c"
    timed --concurrency "$c" >>"$work/noop-$c"
    # The no-op must update nothing and upload nothing.
    if grep -q '"result":"updated"\|"result":"created"' "$work/out.json" ||
       grep '"event":"upload"' "$work/out.json" | grep -q '"skipped":false'; then
      echo "the no-op redeploy changed something:" >&2; cat "$work/out.json" >&2; exit 1
    fi
  done
done

echo "| run | concurrency | wall s (median of $runs) | pipewright CPU s | moto CPU s |"
echo "|---|---:|---:|---:|---:|"
for kind in first noop; do
  for c in 1 4; do
    f="$work/$kind-$c"
    label=$([ "$kind" = first ] && echo "first deploy" || echo "no-op redeploy")
    echo "| $label | $c | $(cut -d' ' -f1 "$f" | median) | $(cut -d' ' -f2 "$f" | median) | $(cut -d' ' -f3 "$f" | median) |"
  done
done
