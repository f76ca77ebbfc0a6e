#!/usr/bin/env bash
# Time and peak memory of `pipewright check` on hostile inputs up to 10 MB
# (issue 2's target: under 2 s and 200 MB each). Builds the release binary first.
#   bash benches/hostile_input.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=target/release/pipewright
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 - "$work" <<'PY'
import os, sys
d = sys.argv[1]
mb = 10 * 1024 * 1024
w = lambda n, s: open(os.path.join(d, n), "w").write(s)
w("scalar-10mb.yaml", 'version: 1\nname: "' + "x" * (mb - 40) + '"\n')
w("nesting-100k.yaml", "a: " + "[" * 100000 + "]" * 100000 + "\n")
lol = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]\n" for i in range(1, 12))
w("billion-laughs.yaml", lol)
def upto(lines):
    out, n = [], 0
    for line in lines:
        if n + len(line) > mb:
            break
        out.append(line)
        n += len(line)
    return "".join(out)
w("many-keys-10mb.yaml", upto(f"k{i}: v{i}\n" for i in range(10**7)))
w("unknown-keys-120k.yaml", "version: 1\n" + "".join(f"k{i}: v\n" for i in range(120000)))
w("long-list-10mb.yaml", "l:\n" + "".join("  - 1234567\n" for _ in range(mb // 12)))
w("binary-10mb.yaml", "")
open(os.path.join(d, "binary-10mb.yaml"), "wb").write(os.urandom(mb))
PY
python3 - "$bin" "$work" <<'PY'
import json, os, subprocess, sys, time
binary, d = sys.argv[1:3]
print(f"{'input':<22} {'bytes':>9} {'seconds':>8} {'peak MB':>8}  exit  first diagnostic")
for name in sorted(n for n in os.listdir(d) if n.endswith(".yaml")):
    path = os.path.join(d, name)
    t = time.perf_counter()
    with open(os.path.join(d, "..out"), "wb") as out:
        p = subprocess.Popen([binary, "check", path, "--format", "json"], stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
    secs = time.perf_counter() - t
    peak = usage.ru_maxrss  # KiB, this child only
    code = os.waitstatus_to_exitcode(status)
    try:
        diags = json.loads(open(os.path.join(d, "..out"), "rb").read())["diagnostics"]
        first = diags[0]["code"] if diags else "-"
    except Exception:
        first = "?"
    print(f"{name:<22} {os.path.getsize(path):>9} {secs:>8.3f} {peak / 1024:>8.1f}  {code:>4}  {first}")
PY
