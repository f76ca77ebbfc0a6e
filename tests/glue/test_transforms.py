"""Every generated transform of the reference spec, run on local Spark over raw objects
written by the ingest function's own writer; the Parquet output is read back with
pyarrow, independently of Spark."""

import datetime as dt
import gzip
import json

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from conftest import reference_scripts, run_script
from events import ferry_boarding, pos_sale, request
from raw import write_raw

# The projection transforms (SQL transforms are tested in test_sql.py).
ALL = {p.name.rsplit("-", 1)[-1].removesuffix(".py"): p for p in reference_scripts("dev")}
SCRIPTS = {n: p for n, p in ALL.items() if "\nSQL = " not in p.read_text()}
POS = 600
FERRY = 200
RETRIED = range(20)  # sent again by the terminal in another request


def bad_lines():
    """Lines the function never writes (it validates every event), but that an object
    written by an older function or damaged in storage could hold: each must come out
    under the rejected prefix with its reason."""
    good = pos_sale(10_000)
    lines = {"not json at all": "not a JSON object", "[1, 2]": "not a JSON object"}
    cases = [
        ("bad-amount", {"total_amount": "12.x"}, "`total_amount` is not a valid decimal(12,2)"),
        ("too-big", {"total_amount": 1e15}, "`total_amount` is not a valid decimal(12,2)"),
        ("bad-time", {"occurred_at": "yesterday"}, "`occurred_at` is not a valid timestamp"),
        ("no-store", {"store_id": None}, "`store_id` is missing"),
        ("no-id", {"event_id": None}, "the event id is missing"),
    ]
    for name, change, reason in cases:
        e = {**good, "event_id": f"sale-{name}", **change}
        lines[json.dumps({k: v for k, v in e.items() if v is not None})] = reason
    return lines


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    raw, curated = root / "raw-bucket", root / "curated-bucket"
    sales = [pos_sale(i) for i in range(POS)]
    requests = [request("pos", f"req-pos-{n:03d}", sales[n * 100 : (n + 1) * 100]) for n in range(6)]
    retry_at = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
    requests.append(request("pos", "req-pos-retry", [sales[i] for i in RETRIED], received=retry_at))
    # An invalid event: the function keeps it under rejected/pos/, never under raw/.
    requests.append(request("pos", "req-pos-invalid", [dict(pos_sale(5000), currency="USD")]))
    scans = [ferry_boarding(i) for i in range(FERRY)]
    requests += [request("ferry", f"req-ferry-{n}", scans[n * 100 : (n + 1) * 100]) for n in range(2)]
    written = write_raw(raw, requests)
    assert [(k, n) for k, n, key in written if key.endswith("/req-pos-invalid.ndjson.gz")] == [("rejected", "1")]
    # A damaged object beside the function's: one of its objects with bad lines added.
    first = raw / "raw/pos/dt=2026-11-26/hour=22/req-pos-000.ndjson.gz"
    original = gzip.decompress(first.read_bytes()).decode()
    damaged = first.with_name("req-pos-damaged.ndjson.gz")
    extra = "".join(line + "\n" for line in bad_lines())
    damaged.write_bytes(gzip.compress((original.splitlines(keepends=True)[0] + extra).encode()))
    return {"raw": raw, "curated": curated, "bookmark": root / "bookmarks", "written": written}


@pytest.fixture(scope="module")
def runs(spark, lake):
    lake["bookmark"].mkdir()
    out = {}
    for name, script in SCRIPTS.items():
        module, summary = run_script(script, lake["raw"], lake["curated"], lake["bookmark"] / name)
        out[name] = (module, summary)
    return out


def dataset(lake, name):
    return ds.dataset(lake["curated"] / "curated" / name, format="parquet", partitioning="hive")


def rejected(lake, transform):
    rows = []
    for f in sorted((lake["curated"] / "rejected" / transform).rglob("*.json.gz")):
        rows += [json.loads(line) for line in gzip.decompress(f.read_bytes()).decode().splitlines()]
    return rows


def test_every_reference_transform_is_covered():
    assert set(SCRIPTS) == {"pos_sales", "ferry_boardings"}
    assert set(ALL) - set(SCRIPTS) == {"sailing_hours"}  # test_sql.py


def test_pos_rows_types_and_partitions(lake, runs):
    module, summary = runs["pos_sales"]
    table = dataset(lake, "pos_sales").to_table()
    assert table.num_rows == POS
    assert summary["rows"] == POS
    schema = {f.name: f.type for f in table.schema}
    assert schema["sale_id"] == pa.string()
    assert schema["occurred_at"] == pa.timestamp("us", tz="UTC")
    assert schema["total_amount"] == pa.decimal128(12, 2)
    assert schema["tax_amount"] == pa.decimal128(12, 2)
    assert pa.types.is_list(schema["items"])
    item = schema["items"].value_type
    assert {item.field(i).name: item.field(i).type for i in range(item.num_fields)} == {
        "description": pa.string(),
        "quantity": pa.int32(),
        "sku": pa.string(),
        "unit_price": pa.float64(),
    }
    assert [c for c, _, _ in module.COLUMNS] == [f.name for f in table.schema][: len(module.COLUMNS)]
    # Partitioned by event date (UTC), one folder per day of the sales.
    folders = sorted(p.name for p in (lake["curated"] / "curated/pos_sales").iterdir() if p.is_dir())
    days = sorted({f"event_date={pos_sale(i)['occurred_at'][:10]}" for i in range(POS)})
    assert folders == days
    # Values survive exactly: decimals from the JSON text, instants in UTC, optional nulls.
    rows = {r["sale_id"]: r for r in table.to_pylist()}
    sale = pos_sale(7)
    got = rows[sale["event_id"]]
    assert str(got["total_amount"]) == f"{sale['total_amount']:.2f}"
    assert got["occurred_at"] == dt.datetime.fromisoformat(sale["occurred_at"])
    assert got["tax_amount"] is not None and rows["sale-00000000"]["tax_amount"] is None
    assert got["payment_method"] == sale["payment"]["method"]
    assert str(got["event_date"]) == sale["occurred_at"][:10]


def test_pos_duplicates_and_bad_lines_are_rejected_with_reasons(lake, runs):
    _, summary = runs["pos_sales"]
    rows = rejected(lake, "pos_sales")
    # 20 retried sales + the copy of sale 0 in the damaged object, + the bad lines.
    duplicates = [r for r in rows if r["reason"] == "duplicate event id"]
    assert len(duplicates) == len(RETRIED) + 1
    expected = bad_lines()
    by_line = {r["line"]: r for r in rows if r["reason"] != "duplicate event id"}
    assert set(by_line) == set(expected)
    for line, reason in expected.items():
        assert reason in by_line[line]["reason"], (line, by_line[line]["reason"])
        assert by_line[line]["object"].endswith("req-pos-damaged.ndjson.gz")
        assert by_line[line]["source"] == "pos"
    assert summary["rejected"] == len(rows)
    # Nothing dropped silently: every line read is a row or a rejected row.
    lines_read = POS + len(RETRIED) + 1 + len(expected)
    assert summary["rows"] + summary["rejected"] == lines_read


def test_ferry_rows_and_two_partition_levels(lake, runs):
    _, summary = runs["ferry_boardings"]
    table = dataset(lake, "ferry_boardings").to_table()
    assert table.num_rows == FERRY == summary["rows"]
    assert summary["rejected"] == 0
    schema = {f.name: f.type for f in table.schema}
    assert schema["passengers"] == pa.int32()
    assert schema["occurred_at"] == pa.timestamp("us", tz="UTC")
    some = next((lake["curated"] / "curated/ferry_boardings").iterdir())
    assert some.name.startswith("event_date=")
    assert {p.name.split("=")[0] for p in some.iterdir()} == {"port"}
    by_id = {r["scan_id"]: r for r in table.to_pylist()}
    assert by_id["scan-00000003"]["vehicle_class"] == "car"
    assert by_id["scan-00000001"]["vehicle_class"] is None


def test_second_run_selects_no_objects_and_adds_no_rows(lake, runs):
    for name, script in SCRIPTS.items():
        _, summary = run_script(script, lake["raw"], lake["curated"], lake["bookmark"] / name)
        assert summary == {"transform": name, "objects": 0, "rows": 0, "rejected": 0}
    assert dataset(lake, "pos_sales").count_rows() == POS
    assert dataset(lake, "ferry_boardings").count_rows() == FERRY


def test_later_object_with_known_events_adds_only_new_rows(lake, runs):
    later = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)
    events = [pos_sale(i) for i in (3, 4, POS, POS + 1)]
    write_raw(lake["raw"], [request("pos", "req-pos-later", events, received=later)])
    _, summary = run_script(SCRIPTS["pos_sales"], lake["raw"], lake["curated"], lake["bookmark"] / "pos_sales")
    assert (summary["objects"], summary["rows"], summary["rejected"]) == (1, 2, 2)
    table = dataset(lake, "pos_sales").to_table(columns=["sale_id"])
    ids = table.column("sale_id").to_pylist()
    assert len(ids) == len(set(ids)) == POS + 2
    again = [r for r in rejected(lake, "pos_sales") if r["object"].endswith("req-pos-later.ndjson.gz")]
    assert sorted(r["reason"] for r in again) == ["duplicate event id: already in the dataset"] * 2


def test_arguments_are_glue_job_parameters(runs):
    module, _ = runs["pos_sales"]
    args = module.arguments(["x", "--raw_bucket", "r", "--curated_bucket", "c", "--JOB_NAME", "j"])
    assert args == {"JOB_NAME": "j", "raw_bucket": "r", "curated_bucket": "c"}
    with pytest.raises(SystemExit, match="missing arguments: --curated_bucket"):
        module.arguments(["x", "--raw_bucket", "r"])
    with pytest.raises(SystemExit, match="unknown arguments: --raw_bukket"):
        module.arguments(["x", "--raw_bukket", "r", "--curated_bucket", "c"])
    assert module.raw_root(args) == "s3://r"


def test_output_types_are_checked_before_writing(spark, runs):
    from pyspark.sql import functions as F

    module, _ = runs["pos_sales"]
    typed = [F.lit(None).cast(t).alias(n) for n, t, _ in module.COLUMNS]
    module.expected_types(spark.range(1).select(*typed))
    drifted = [c if n != "total_amount" else F.lit(1.5).alias(n) for c, (n, _, _) in zip(typed, module.COLUMNS, strict=True)]
    with pytest.raises(SystemExit, match=r"`total_amount` is double, not decimal\(12,2\)"):
        module.expected_types(spark.range(1).select(*drifted))
