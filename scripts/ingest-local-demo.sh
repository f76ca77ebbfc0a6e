#!/usr/bin/env bash
# Demo of the ingest function's local mode against moto: starts moto (unless
# PIPEWRIGHT_MOTO_ENDPOINT is set), creates a bucket and an index table, writes a
# one-source config, runs the function binary with `--local`, POSTs a POS sale (plain
# and gzip), and lists what was stored. Everything it starts is stopped by PID.
#   scripts/ingest-local-demo.sh [path/to/pipewright-ingest-or-bootstrap]
# Needs: curl, and a Python with boto3 (moto's venv: MOTO_PYTHON, default
# .ci/.tools/venv/bin/python, which .ci/run creates).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/debug/pipewright-ingest}"
[ -x "$bin" ] || { echo "no binary at $bin (cargo build -p pipewright-ingest)" >&2; exit 1; }
py="${MOTO_PYTHON:-.ci/.tools/venv/bin/python}"
server="${PIPEWRIGHT_MOTO_SERVER:-$(dirname "$py")/moto_server}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

if [ -z "${PIPEWRIGHT_MOTO_ENDPOINT:-}" ]; then
  mp="$(free_port)"
  "$server" -H 127.0.0.1 -p "$mp" >"$work/moto.log" 2>&1 & pids+=($!)
  wait_port "$mp"
  PIPEWRIGHT_MOTO_ENDPOINT="http://127.0.0.1:$mp"
fi
export AWS_ENDPOINT_URL="$PIPEWRIGHT_MOTO_ENDPOINT" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
       AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
suffix="$(date +%s)-$$"
export PIPEWRIGHT_RAW_BUCKET="demo-raw-$suffix" PIPEWRIGHT_INDEX_TABLE="demo-index-$suffix"

"$py" - <<'PY'
import os, boto3
ep = os.environ["AWS_ENDPOINT_URL"]
boto3.client("s3", endpoint_url=ep).create_bucket(Bucket=os.environ["PIPEWRIGHT_RAW_BUCKET"])
s = lambda n: {"AttributeName": n, "AttributeType": "S"}
gsi = lambda name, pk: {"IndexName": name, "Projection": {"ProjectionType": "ALL"},
    "KeySchema": [{"AttributeName": pk, "KeyType": "HASH"}, {"AttributeName": "received_at", "KeyType": "RANGE"}]}
boto3.client("dynamodb", endpoint_url=ep).create_table(
    TableName=os.environ["PIPEWRIGHT_INDEX_TABLE"], BillingMode="PAY_PER_REQUEST",
    AttributeDefinitions=[s(n) for n in ["pk", "sk", "source_date", "device_id", "source_schema", "received_at"]],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    GlobalSecondaryIndexes=[gsi("by_source_date", "source_date"), gsi("by_device", "device_id"),
                            gsi("by_schema_version", "source_schema")])
PY

cat >"$work/pipewright-ingest.json" <<'JSON'
{"version": 1, "pipeline": "demo", "environment": "local", "partitioning": "hour",
 "gzip_level": 5, "max_device_ids": 10, "index_ttl_days": 90, "idempotency_ttl_days": 1,
 "lookups": {"by_source_date": true, "by_device": true, "by_schema_version": true},
 "sources": {"pos": {"route": "/v1/pos/sales", "schema_version": "1.0.0",
   "schema": {"type": "object", "required": ["event_id", "terminal_id", "occurred_at", "total"],
     "properties": {"event_id": {"type": "string"}, "terminal_id": {"type": "string"},
       "occurred_at": {"type": "string", "format": "date-time"},
       "total": {"type": "number", "multipleOf": 0.01}}},
   "max_body_bytes": 1048576, "max_events": 1000, "id_field": "event_id",
   "time_field": "occurred_at", "device_field": "terminal_id", "start_jobs": []}}}
JSON
export PIPEWRIGHT_CONFIG="$work/pipewright-ingest.json"

port="$(free_port)"
"$bin" --local "127.0.0.1:$port" >"$work/function.log" 2>&1 & pids+=($!)
wait_port "$port" || { cat "$work/function.log"; exit 1; }

url="http://127.0.0.1:$port/v1/pos/sales"
echo "--- one event"
curl -s -D - -H 'content-type: application/json' "$url" \
  -d '{"event_id":"e1","terminal_id":"t1","occurred_at":"2026-11-27T10:00:00Z","total":19.99}'
echo; echo "--- NDJSON, gzip, one bad event"
printf '%s\n%s\n' '{"event_id":"e2","terminal_id":"t2","occurred_at":"2026-11-27T10:01:00Z","total":0.07}' \
  '{"event_id":"e3","terminal_id":"t2","occurred_at":"yesterday","total":1}' | gzip |
  curl -s -H 'content-type: application/x-ndjson' -H 'content-encoding: gzip' --data-binary @- "$url"
echo; echo "--- stored"
"$py" -c '
import os, boto3
ep = os.environ["AWS_ENDPOINT_URL"]
for o in boto3.client("s3", endpoint_url=ep).list_objects_v2(Bucket=os.environ["PIPEWRIGHT_RAW_BUCKET"]).get("Contents", []):
    print(o["Key"], o["Size"])
print(boto3.client("dynamodb", endpoint_url=ep).scan(TableName=os.environ["PIPEWRIGHT_INDEX_TABLE"])["Count"], "index items")'
echo "--- function log (last 3 lines)"
tail -n 3 "$work/function.log"
