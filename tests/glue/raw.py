"""Raw objects written by the ingest function's own writer (`raw_objects` example)."""

import json
import os
import pathlib
import subprocess
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMAS = {
    "pos": ("schemas/pos-sale.v1.json", "event_id", "occurred_at"),
    "ferry": ("schemas/ferry-boarding.v1.json", "event_id", "occurred_at"),
}


def write_raw(out_dir, requests, schemas=None):
    """Runs each request through the function's validation and gzip NDJSON writer.

    `schemas` maps a source to (schema file, id field, time field); default: the
    reference spec's. Returns the lines `raw_objects` printed: (kind, lines, key).
    """
    schemas = schemas or SCHEMAS
    args = [f"{s}={ROOT / f}:{i}:{t}" for s, (f, i, t) in sorted(schemas.items())]
    # CI passes the example the workspace tests built (PIPEWRIGHT_RAW_OBJECTS); `cargo run`
    # would compile shared crates again with other features.
    built = os.environ.get("PIPEWRIGHT_RAW_OBJECTS")
    cmd = (
        [built]
        if built
        else ["cargo", "run", "--quiet", "-p", "pipewright-ingest", "--example", "raw_objects", "--"]
    )
    # Streamed: the benchmark sends a million events.
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            [*cmd, str(out_dir), *args],
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=err,
            cwd=ROOT,
            env={**os.environ, "CARGO_TERM_COLOR": "never"},
        )
        with proc.stdin:
            for r in requests:
                proc.stdin.write((json.dumps(r) + "\n").encode())
        if proc.wait() != 0:
            err.seek(0)
            raise RuntimeError(f"raw_objects failed: {err.read().decode()}")
        out.seek(0)
        return [tuple(line.split(" ", 2)) for line in out.read().decode().splitlines()]
