#!/usr/bin/env bash
# `iam diff` on the reference spec against git HEAD (issue 15: < 200 ms), run the way a
# reviewer runs it: in a git repository holding the committed spec, once unchanged and
# once with a new outside reader added. Usage: benches/iam_diff.sh [BINARY] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/target/release/pipewright}
runs=${2:-20}
bin=$(realpath "$bin")
[ -x "$bin" ] || { echo "no pipewright binary at $bin (cargo build --release --no-default-features)" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "$here/pipeline.yaml" "$dir/" && cp -r "$here/schemas" "$dir/"
cd "$dir"
git init -q && git add . && git -c user.name=bench -c user.email=bench@example.com commit -qm reference
measure() {
  local label=$1; shift
  local times=()
  for _ in $(seq "$runs"); do
    local t0 t1
    t0=$(date +%s%N)
    "$bin" iam diff "$@" > /dev/null || true
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000000 )))
  done
  IFS=$'\n' sorted=($(sort -n <<< "${times[*]}")); unset IFS
  echo "$label: best ${sorted[0]} ms, median ${sorted[$(( runs / 2 ))]} ms, worst ${sorted[$(( runs - 1 ))]} ms ($runs runs)"
}
measure "unchanged spec (no change)"
python3 - <<'PY'
s = open("pipeline.yaml").read()
r = "    - principal: arn:aws:iam::333333333333:role/fraud-analytics\n      datasets: [pos_sales]"
assert r in s
open("pipeline.yaml", "w").write(s.replace(r, r + "\n    - principal: arn:aws:iam::444444444444:role/partner-bi\n      datasets: [pos_sales, ferry_boardings]"))
PY
measure "new outside reader (8 broadening changes)" --format markdown
