"""Shared fixtures: one local Spark session per test module (the JVM takes seconds to
start), and the generated Glue scripts loaded as modules."""

import importlib.util
import itertools
import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from raw import ROOT

_count = itertools.count()


def spark_session():
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    return (
        SparkSession.builder.master("local[2]")
        .appName("pipewright-glue-tests")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .getOrCreate()
    )


@pytest.fixture(scope="module")
def spark():
    session = spark_session()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def load_script(path):
    """A generated Glue script as a fresh module (its constants are per transform)."""
    spec = importlib.util.spec_from_file_location(f"glue_script_{next(_count)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(path, raw, curated, bookmark):
    """Runs a generated script as Glue would start it, with local locations."""
    module = load_script(path)
    assert module.ON_GLUE is False
    argv = [
        str(path),
        "--JOB_NAME", module.TRANSFORM,
        "--raw_bucket", "unused-raw-bucket",
        "--curated_bucket", "unused-curated-bucket",
        "--raw_location", pathlib.Path(raw).as_uri(),
        "--curated_location", pathlib.Path(curated).as_uri(),
        "--bookmark_file", str(bookmark),
    ]
    return module, module.main(argv)


def reference_scripts(env="dev"):
    return sorted((ROOT / "stacks" / env / "glue").glob("*.py"))
