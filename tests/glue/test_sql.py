"""The reference SQL transform (`sailing_hours`: boardings per sailing and hour joined
with the day's sales on board) on local Spark, over raw objects written by the ingest
function's own writer. Its output is read back with pyarrow and compared with the
same figures computed here in plain Python from the events sent (not from anything
pipewright produced): after a first run, after late and repeated events, and against
a full recompute from scratch."""

import datetime as dt
from collections import defaultdict

import pyarrow.dataset as ds
import pytest

from conftest import reference_scripts, run_script
from events import BASE, ferry_boarding, pos_sale, request
from raw import write_raw

SCRIPT = next(p for p in reference_scripts("dev") if p.name.endswith("-sailing_hours.py"))
VESSELS = ["V-ISLE", "V-WIGHT", "V-SOLENT"]


def scan(i, at=None, event_id=None):
    """A gate scan on one of a few sailings; `at` overrides its time (late events)."""
    e = ferry_boarding(i)
    if at is not None:
        e["occurred_at"] = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    e["event_id"] = event_id or e["event_id"]
    vessel = VESSELS[i % len(VESSELS)]
    t = dt.datetime.fromisoformat(e["occurred_at"])
    e["vessel_id"] = vessel
    e["sailing_id"] = f"{vessel}-{t.day:02d}{t.hour // 3}"  # a sailing lasts three hours
    return e


def sale(i, at=None, event_id=None):
    e = pos_sale(i)
    if at is not None:
        e["occurred_at"] = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    e["event_id"] = event_id or e["event_id"]
    # Four of seven stores are the vessels' shops; the others are on shore.
    e["store_id"] = (VESSELS + ["S-PORTSMOUTH", "S-COWES", "S-RYDE", "S-LYM"])[i % 7]
    return e


def expected(scans, sales):
    """The query's result, computed directly: one row per sailing and hour."""
    scans = {e["event_id"]: e for e in scans}.values()  # an event counts once
    sales = {e["event_id"]: e for e in sales}.values()
    when = lambda e: dt.datetime.fromisoformat(e["occurred_at"])
    boarded = defaultdict(lambda: [0, 0])
    for e in scans:
        if e["stage"] == "boarding" and e["result"] != "rejected":
            t = when(e)
            key = (t.date().isoformat(), e["sailing_id"], e["vessel_id"], t.replace(minute=0, second=0, microsecond=0))
            boarded[key][0] += e["passengers"]
            boarded[key][1] += 1
    on_board = defaultdict(lambda: [0, 0.0])
    for e in sales:
        key = (when(e).date().isoformat(), e["store_id"])
        on_board[key][0] += 1
        on_board[key][1] += e["total_amount"]
    rows = []
    for (day, sailing, vessel, hour), (passengers, n) in boarded.items():
        peers = [p for (d, s, _, _), (p, _) in boarded.items() if (d, s) == (day, sailing)]
        sold = on_board.get((day, vessel))
        rows.append(
            {
                "event_date": day,
                "sailing_id": sailing,
                "vessel_id": vessel,
                "hour": hour,
                "passengers": passengers,
                "scans": n,
                "busiest": 1 + sum(1 for p in peers if p > passengers),
                "vessel_sales": sold[0] if sold else 0,
                "vessel_revenue": round(sold[1], 6) if sold else None,
            }
        )
    return sorted(rows, key=lambda r: (r["event_date"], r["sailing_id"], r["hour"]))


def table(curated):
    rows = ds.dataset(curated / "curated" / "sailing_hours", format="parquet", partitioning="hive").to_table()
    out = []
    for r in rows.to_pylist():
        r["event_date"] = str(r["event_date"])
        if r["vessel_revenue"] is not None:
            r["vessel_revenue"] = round(r["vessel_revenue"], 6)
        out.append(r)
    return sorted(out, key=lambda r: (r["event_date"], r["sailing_id"], r["hour"]))


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("sql-lake")
    return {"raw": root / "raw", "curated": root / "curated", "bookmark": root / "bookmark", "root": root}


FIRST_SCANS = [scan(i) for i in range(120)]  # 10 hours from 22:00 on the 26th
FIRST_SALES = [sale(i) for i in range(100)]
LATE_AT = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
LATE_SCANS = [scan(i, at=BASE + dt.timedelta(minutes=7 * i), event_id=f"scan-late-{i:04d}") for i in range(1, 9)]
LATE_SALES = [sale(i, at=BASE + dt.timedelta(minutes=11 * i), event_id=f"sale-late-{i:04d}") for i in range(6)]
MORE_SCANS = [scan(i) for i in range(120, 150)]
RETRIED = FIRST_SCANS[:10]  # sent again by a gate whose first request timed out


def test_first_run_matches_a_direct_computation(lake):
    requests = [request("ferry", f"req-ferry-{n}", FIRST_SCANS[n * 40 : (n + 1) * 40]) for n in range(3)]
    requests += [request("pos", f"req-pos-{n}", FIRST_SALES[n * 50 : (n + 1) * 50]) for n in range(2)]
    written = write_raw(lake["raw"], requests)
    assert all(kind == "accepted" for kind, _, _ in written), written
    _, summary = run_script(SCRIPT, lake["raw"], lake["curated"], lake["bookmark"])
    assert summary["objects"] == len(written)
    assert summary["dates"] == ["2026-11-26", "2026-11-27"]
    got = table(lake["curated"])
    assert got == expected(FIRST_SCANS, FIRST_SALES)
    # The join found vessel shops, and some sailings had more than one hour.
    assert any(r["vessel_sales"] > 0 for r in got) and any(r["busiest"] > 1 for r in got)


def test_late_and_repeated_events_give_what_a_full_recompute_gives(lake):
    requests = [
        request("ferry", "req-ferry-late", LATE_SCANS + RETRIED, received=LATE_AT),
        request("ferry", "req-ferry-more", MORE_SCANS),
        request("pos", "req-pos-late", LATE_SALES, received=LATE_AT),
    ]
    write_raw(lake["raw"], requests)
    _, summary = run_script(SCRIPT, lake["raw"], lake["curated"], lake["bookmark"])
    # Late events of the 26th make that date recomputed, not appended to.
    assert summary["dates"] == ["2026-11-26", "2026-11-27"]
    incremental = table(lake["curated"])
    assert incremental == expected(FIRST_SCANS + LATE_SCANS + RETRIED + MORE_SCANS, FIRST_SALES + LATE_SALES)
    fresh = lake["root"] / "recomputed"
    _, full = run_script(SCRIPT, lake["raw"], fresh, lake["root"] / "fresh-bookmark")
    assert full["dates"] == summary["dates"]
    assert table(fresh) == incremental


def test_a_run_without_new_objects_changes_nothing(lake):
    before = table(lake["curated"])
    _, summary = run_script(SCRIPT, lake["raw"], lake["curated"], lake["bookmark"])
    assert (summary["objects"], summary["rows"], summary["dates"]) == (0, 0, [])
    assert table(lake["curated"]) == before
