"""Benchmark: ferry scans and POS sales (half each) through the reference SQL transform
`sailing_hours` (join + aggregate + window) on local Spark.

    .ci/.tools/spark/bin/python benches/spark/sailing_hours.py [--events N]

The events are 1.2 s apart per source (a week). The raw objects (5,000 events per
request) are written by the ingest function's own writer (the `raw_objects` example)
before timing starts. The timed part is one run of
`stacks/dev/glue/transit-payments-dev-sailing_hours.py` in a warm Spark session: list,
read, parse, de-duplicate, the query, dynamic partition overwrite. Wall time and CPU
time (user+sys of this process and the Spark JVM) are printed.
"""

import argparse
import datetime as dt
import json
import os
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "glue"))

from conftest import run_script, spark_session
from events import BASE, request
from raw import write_raw
from test_sql import sale, scan

TICKS = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid):
    """user+sys seconds of `pid` and every live descendant (the Spark JVM)."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    mine, todo = set(), [pid]
    while todo:
        p = todo.pop()
        mine.add(p)
        todo += [c for c, (ppid, _) in stats.items() if ppid == p and c not in mine]
    return sum(stats[p][1] for p in mine if p in stats) / TICKS


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--per-request", type=int, default=5000)
    args = ap.parse_args()
    script = ROOT / "stacks/dev/glue/transit-payments-dev-sailing_hours.py"
    with tempfile.TemporaryDirectory(prefix="pw-spark-bench-") as tmp:
        tmp = pathlib.Path(tmp)
        t0 = time.perf_counter()
        n, per = args.events, args.per_request
        half = n // 2
        at = [BASE + dt.timedelta(seconds=1.2 * i) for i in range(half)]

        def batch(source, make, k):
            return request(source, f"bench-{source}-{k:06d}", [make(i, at=at[i]) for i in range(k, min(k + per, half))])

        requests = (batch(s, f, k) for s, f in (("ferry", scan), ("pos", sale)) for k in range(0, half, per))
        written = write_raw(tmp / "raw", requests)
        raw_bytes = sum(f.stat().st_size for f in (tmp / "raw").rglob("*.gz"))
        print(f"raw objects: {len(written)} ({raw_bytes / 1e6:.1f} MB gzip) in {time.perf_counter() - t0:.1f} s", flush=True)
        spark = spark_session()
        spark.sparkContext.setLogLevel("ERROR")
        spark.range(1000).selectExpr("sum(id)").collect()  # JVM and planner warm
        cpu0, t1 = tree_cpu_seconds(os.getpid()), time.perf_counter()
        _, summary = run_script(script, tmp / "raw", tmp / "curated", tmp / "bookmark")
        wall, cpu = time.perf_counter() - t1, tree_cpu_seconds(os.getpid()) - cpu0
        spark.stop()
        parquet = sum(f.stat().st_size for f in (tmp / "curated").rglob("*.parquet"))
        result = {
            "events": n,
            "rows": summary["rows"],
            "rejected": summary["rejected"],
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
            "rows_per_s_wall": round(summary["rows"] / wall),
            "parquet_mb": round(parquet / 1e6, 1),
            "cores": os.cpu_count(),
            "master": "local[2]",
        }
        print(json.dumps(result, sort_keys=True))


if __name__ == "__main__":
    main()
