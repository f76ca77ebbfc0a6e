"""Deterministic device events and requests for the Glue-script tests and the benchmark.

Events are written to raw objects by the ingest function's own code (the
`raw_objects` example of `functions/ingest`), never by Python: see `raw.py`.
"""

import datetime as dt

BASE = dt.datetime(2026, 11, 26, 22, 0, 0, tzinfo=dt.UTC)
METHODS = ["card", "contactless", "mobile", "cash", "voucher"]
SCHEMES = ["visa", "mastercard", "amex", "maestro"]
PORTS = ["PORTSMOUTH", "FISHBOURNE", "SOUTHAMPTON", "COWES"]


def rfc3339(t):
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def pos_sale(i, seconds=420):
    """Sale `i`; `seconds` apart (7 minutes: a few hundred sales cross midnight, UTC)."""
    at = BASE + dt.timedelta(seconds=seconds * i)
    method = METHODS[i % len(METHODS)]
    event = {
        "event_id": f"sale-{i:08d}",
        "occurred_at": rfc3339(at),
        "terminal_id": f"T{100000 + i % 50:06d}",
        "store_id": f"store-{i % 7}",
        "currency": "GBP" if i % 3 else "EUR",
        "total_amount": round(1 + (i % 1000) * 1.37, 2),
        "payment": {"method": method},
        "items": [
            {"sku": f"SKU-{i % 97}", "quantity": 1 + i % 3, "unit_price": round(0.5 + (i % 40) * 0.25, 2)},
        ],
    }
    if i % 4:
        event["tax_amount"] = round(event["total_amount"] / 6, 2)
    if method in ("card", "contactless"):
        event["payment"]["card_scheme"] = SCHEMES[i % len(SCHEMES)]
    return event


def ferry_boarding(i):
    at = BASE + dt.timedelta(minutes=5 * i)
    event = {
        "event_id": f"scan-{i:08d}",
        "occurred_at": rfc3339(at),
        "gate_id": f"G{1000 + i % 20:04d}",
        "port": PORTS[i % len(PORTS)],
        "ticket_id": f"TK{i:06d}",
        "stage": "boarding" if i % 2 else "validation",
        "result": "accepted" if i % 10 else "rejected",
        "passengers": i % 5,
    }
    if i % 3 == 0:
        event["vehicle"] = {"class": "car", "length_m": 4.5}
    return event


def request(source, request_id, events, received=None):
    """One request as `raw_objects` reads it (`received` defaults to the first event's hour)."""
    if received is None:
        received = dt.datetime.fromisoformat(events[0]["occurred_at"])
    return {
        "source": source,
        "request_id": request_id,
        "received_ms": int(received.timestamp() * 1000),
        "body": events,
    }
