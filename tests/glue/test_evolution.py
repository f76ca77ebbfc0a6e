"""POS event schema versions one after another, each checked against the previous
spec (`pipewright check --against`), synthesised, and its `pos_sales` transform run on
local Spark over raw objects written under that version. Afterwards every table the
crawler would catalogue is readable: `pos_sales` (1.0.0, 1.1.0 and 1.2.0 files: the
added column null in the older ones, the widened one read as bigint) and
`pos_sales_v2` (the breaking 2.0.0)."""

import json
import os
import shutil
import subprocess

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from conftest import run_script
from events import pos_sale, request
from raw import ROOT, write_raw

COLUMN_LINE = "      - { name: store_id }\n"


def v1_1(schema, spec):
    """Compatible: an optional `channel` field, and a column for it."""
    schema["properties"]["channel"] = {"type": "string", "enum": ["store", "onboard"]}
    return schema, spec.replace(COLUMN_LINE, COLUMN_LINE + "      - { name: channel }\n")


def v1_2(schema, spec):
    """Compatible: line-item quantities widened from int to bigint (no upper bound)."""
    del schema["$defs"]["line_item"]["properties"]["quantity"]["maximum"]
    return schema, spec


def v2_0(schema, spec):
    """Breaking: `store_id` renamed to `store_code`."""
    schema["properties"]["store_code"] = schema["properties"].pop("store_id")
    schema["required"] = [f if f != "store_id" else "store_code" for f in schema["required"]]
    # The projection's column and the SQL transform's query both follow the rename.
    return schema, spec.replace("store_id", "store_code")


VERSIONS = [("1.0.0", None), ("1.1.0", v1_1), ("1.2.0", v1_2), ("2.0.0", v2_0)]


def event(version, i):
    e = pos_sale(i)
    if version != "1.0.0":
        e["channel"] = "onboard" if i % 2 else "store"
    if version >= "1.2.0":
        e["items"][0]["quantity"] = 5_000_000_000 + i  # beyond int
    if version == "2.0.0":
        e["store_code"] = e.pop("store_id")
    return e


def pipewright(*args, cwd):
    # CI passes the CLI the workspace tests built (PIPEWRIGHT_BIN).
    built = os.environ.get("PIPEWRIGHT_BIN")
    cmd = (
        [built]
        if built
        else ["cargo", "run", "--quiet", "--manifest-path", str(ROOT / "Cargo.toml"), "--"]
    )
    done = subprocess.run(
        [*cmd, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def evolved(spark, tmp_path_factory):
    work = tmp_path_factory.mktemp("evolution")
    shutil.copytree(ROOT / "schemas", work / "schemas")
    base_spec = (ROOT / "pipeline.yaml").read_text()
    base_schema = json.loads((ROOT / "schemas/pos-sale.v1.json").read_text())
    raw, curated, bookmark = work / "raw-bucket", work / "curated-bucket", work / "bookmark"
    previous, runs = None, {}
    for n, (version, change) in enumerate(VERSIONS):
        schema, spec = json.loads(json.dumps(base_schema)), base_spec
        if change:
            for step in VERSIONS[1 : n + 1]:
                schema, spec = step[1](schema, spec)
        schema_file = f"schemas/pos-sale.{version}.json"
        (work / schema_file).write_text(json.dumps(schema, indent=2))
        spec = spec.replace(
            "      version: 1.0.0\n      file: schemas/pos-sale.v1.json",
            f"      version: {version}\n      file: {schema_file}",
        )
        spec_file = work / f"pipeline.{version}.yaml"
        spec_file.write_text(spec)
        if previous:
            code, out = pipewright("check", spec_file.name, "--against", previous.name, cwd=work)
            assert code == 0, out
        code, out = pipewright("synth", spec_file.name, "--env", "dev", "--out", f"out-{version}", cwd=work)
        assert code == 0, out
        events = [event(version, i) for i in range(n * 1000, n * 1000 + 300)]
        schemas = {"pos": (str(work / schema_file), "event_id", "occurred_at")}
        write_raw(raw, [request("pos", f"req-{version}", events)], schemas)
        script = work / f"out-{version}/stacks/dev/glue/transit-payments-dev-pos_sales.py"
        runs[version] = run_script(script, raw, curated, bookmark)[1]
        previous = spec_file
    return curated, runs


def test_breaking_change_without_major_version_is_refused(tmp_path):
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    (tmp_path / "pipeline.yaml").write_text((ROOT / "pipeline.yaml").read_text())
    schema = json.loads((ROOT / "schemas/pos-sale.v1.json").read_text())
    schema, spec = v2_0(schema, (ROOT / "pipeline.yaml").read_text())
    (tmp_path / "schemas/pos-sale.next.json").write_text(json.dumps(schema))
    (tmp_path / "next.yaml").write_text(spec.replace("schemas/pos-sale.v1.json", "schemas/pos-sale.next.json"))
    code, out = pipewright("check", "next.yaml", "--against", "pipeline.yaml", cwd=tmp_path)
    assert code == 1
    assert "PW0241" in out and "`store_id` removed" in out


def test_each_version_ran(evolved):
    _, runs = evolved
    for version, summary in runs.items():
        assert (summary["objects"], summary["rows"], summary["rejected"]) == (1, 300, 0), version


def test_compatible_versions_share_a_table_with_the_new_column(evolved):
    curated, _ = evolved
    root = curated / "curated" / "pos_sales"
    files = sorted(root.rglob("*.parquet"))
    schemas = [pq_schema(f) for f in files]
    unified = pa.unify_schemas(schemas, promote_options="permissive")
    assert "channel" in unified.names and "store_id" in unified.names
    item = unified.field("items").type.value_type
    assert item.field("quantity").type == pa.int64()  # int files read as bigint
    table = ds.dataset(root, schema=unified, format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 900
    channels = table.column("channel").to_pylist()
    assert channels.count(None) == 300  # the 1.0.0 rows
    assert set(channels) == {None, "store", "onboard"}
    assert table.schema.field("total_amount").type == pa.decimal128(12, 2)
    quantities = {r["sale_id"]: r["items"][0]["quantity"] for r in table.to_pylist()}
    assert quantities["sale-00000001"] == 2  # 1.0.0, an int file
    assert quantities["sale-00002001"] == 5_000_002_001  # 1.2.0, a bigint file


def test_breaking_version_has_its_own_table_and_the_old_one_stays(evolved):
    curated, _ = evolved
    v2 = ds.dataset(curated / "curated" / "pos_sales_v2", format="parquet", partitioning="hive").to_table()
    assert v2.num_rows == 300
    assert "store_code" in v2.schema.names and "store_id" not in v2.schema.names
    assert set(v2.column("sale_id").to_pylist()) == {f"sale-{i:08d}" for i in range(3000, 3300)}
    assert len(list((curated / "curated" / "pos_sales").rglob("*.parquet"))) > 0


def pq_schema(path):
    import pyarrow.parquet as pq

    return pq.read_schema(path)
