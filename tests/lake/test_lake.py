"""The data lake on the session's GCS emulator (and in a local folder): what lands, re-runs, damage, interruptions."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pandas as pd
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import pytest
from in_process import zoomcamp

from zoomcamp import datasets
from zoomcamp.datasets.blocks import to_parquet
from zoomcamp.lake import Lake, LakeError

pytestmark = pytest.mark.stack  # starts, or needs, the local services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def lake(settings):
    """A fresh bucket on the session's emulator, deleted afterwards."""
    lake = Lake(settings, url=f"gs://test-{uuid.uuid4().hex[:10]}")
    yield lake
    lake.fs.rm(lake.root, recursive=True)


def test_ingest_writes_typed_hive_partitions_with_the_sample_values(lake, settings):
    published = lake.ingest("yellow", ["2021-01"], progress=False)
    source = datasets.read_csv(datasets.trip_file("yellow", "2021-01"))
    assert [p.rows for p in published] == [len(source)] and published[0].bad_rows == 0
    assert lake.fs.find(lake.path("yellow")) == [lake.path("yellow/year=2021/month=01/yellow_tripdata_2021-01.parquet")]
    table = lake.dataset("yellow").to_table()
    assert table.schema.field("tpep_pickup_datetime").type == datasets.arrow_schema("yellow").field(
        "tpep_pickup_datetime").type
    assert table.column("airport_fee").null_count == len(source)  # not in the CSV backups: null, not invented
    assert table.column("total_amount").to_pandas().sum() == pytest.approx(source["total_amount"].sum())
    assert set(table.column("month").to_pylist()) == {1}  # the partition column comes from the folder name


def test_reingesting_a_month_replaces_exactly_that_month(lake):
    lake.ingest("green", ["2021-01..2021-02"], progress=False)
    stray = lake.partition("green", "2021-01") + "/part-old.parquet"
    lake.fs.pipe(stray, pq.ParquetFile(lake.fs.open(lake.object_path("green", "2021-02"))).read().to_pandas()
                 .to_parquet())
    before_feb = lake.fs.info(lake.object_path("green", "2021-02"))["generation"]
    lake.ingest("green", ["2021-01"], progress=False)
    assert not lake.fs.exists(stray)
    assert lake.fs.info(lake.object_path("green", "2021-02"))["generation"] == before_feb  # untouched
    expected = len(datasets.read_csv(datasets.trip_file("green", "2021-01")))
    assert lake.dataset("green").count_rows(filter=pads.field("month") == 1) == expected
    assert [s.state for s in lake.check()] == ["present", "present"]


def test_check_reports_missing_and_damaged_months(lake):
    lake.ingest("yellow", ["2021-01", "2021-03", "2021-04"], progress=False)
    lake.fs.pipe(lake.object_path("yellow", "2021-03"), b"not parquet at all")
    one_row = pq.read_table(lake.fs.open(lake.object_path("yellow", "2021-01"))).slice(0, 1)
    with lake.fs.open(lake.object_path("yellow", "2021-04"), "wb") as f:
        pq.write_table(one_row, f)
    states = {s.month: s for s in lake.check(["yellow"])}
    assert states["2021-01"].state == "present"
    assert states["2021-02"].state == "missing"  # the gap between the first and last month
    assert states["2021-03"].state == "damaged" and "footer" in states["2021-03"].detail
    assert states["2021-04"].state == "damaged" and states["2021-04"].rows == 1
    asked = lake.check(["yellow"], ["2021-05"])
    assert [(s.month, s.state) for s in asked] == [("2021-05", "missing")]


def test_cli_check_exit_code_follows_the_lake(settings):
    url = f"gs://test-cli-{uuid.uuid4().hex[:8]}"

    def run(*args):  # the command's words and exit codes: in this process (tests/in_process.py)
        return zoomcamp(*args, ZOOMCAMP_LAKE_URL=url)

    assert run("lake", "ingest", "green", "2021-01").returncode == 0
    ok = run("lake", "check")
    assert ok.returncode == 0 and "present" in ok.stdout
    gap = run("lake", "check", "--months", "2021-01..2021-02")
    assert gap.returncode == 1 and "missing" in gap.stdout
    crawl = run("lake", "crawl", "--register")
    assert "lpep_pickup_datetime" in crawl.stdout and "year=2021/month=01" in crawl.stdout
    bad = run("lake", "ingest", "purple", "2021-01")
    assert bad.returncode == 2 and "unknown taxi type" in bad.stderr
    Lake(settings, url=url).fs.rm(url[5:], recursive=True)


def test_malformed_csv_lines_are_kept_in_quarantine_not_dropped(lake, tmp_path):
    lines = gzip.open(datasets.trip_file("green", "2021-01"), "rt").read().splitlines()
    lines[3] = lines[3].replace(",", ",not-a-number", 1)
    lines.insert(7, "1,2,3")
    source = tmp_path / "green_tripdata_2021-01.csv"
    source.write_text("\n".join(lines) + "\n")
    parquet, bad = lake.convert(source, "green", "2021-01")
    published = lake.publish(parquet, "green", "2021-01", bad_rows=bad)
    assert published.bad_rows == 2 and published.rows == len(lines) - 1 - 2
    quarantine = pd.read_csv(lake.fs.open(lake.path("_quarantine/green/green_tripdata_2021-01.csv")))
    assert quarantine["line"].tolist() == [4, 8] and "expected 20 fields" in quarantine["reason"][1]


def test_a_local_folder_lake_with_raw_files_and_duckdb(settings, tmp_path):
    lake = Lake(settings, url=str(tmp_path / "lake"))
    lake.ingest("yellow", ["2021-01", "2021-02"], keep_raw=True, progress=False)
    assert (tmp_path / "lake/yellow/year=2021/month=02/yellow_tripdata_2021-02.parquet").is_file()
    raw = tmp_path / "lake/raw/yellow/yellow_tripdata_2021-01.csv.gz"
    assert raw.read_bytes() == datasets.trip_file("yellow", "2021-01").read_bytes()
    assert lake.datasets() == ["yellow"]  # raw/ is not a dataset
    counts = lake.duckdb().sql(f"SELECT month, count(*) FROM {lake.read_parquet_sql('yellow')} GROUP BY 1 "
                               "ORDER BY 1").fetchall()
    expected = len(datasets.read_csv(datasets.trip_file("yellow", "2021-01")))
    assert counts[0] == (1, expected) and [m for m, _ in counts] == [1, 2]


def test_duckdb_reads_the_bucket(lake):
    lake.ingest("green", ["2021-01"], progress=False)
    total = lake.duckdb().sql(f"SELECT sum(total_amount) FROM {lake.read_parquet_sql('green')}").fetchone()[0]
    assert total == pytest.approx(datasets.read_csv(datasets.trip_file("green", "2021-01"))["total_amount"].sum())


def test_crawl_and_register(lake):
    lake.ingest("green", ["2021-01", "2021-02"], progress=False)
    (info,) = lake.crawl()
    assert info.name == "green" and [p["partition"] for p in info.partitions] == ["year=2021/month=01",
                                                                                    "year=2021/month=02"]
    assert info.schema.names == datasets.arrow_schema("green").names
    entry = lake.register("green")
    assert entry["rows"] == info.rows and lake.fs.exists(lake.path("_catalog/green.json"))


def test_reading_a_type_the_lake_does_not_have_says_what_to_do(lake):
    with pytest.raises(LakeError, match="zoomcamp lake ingest fhv"):
        lake.dataset("fhv")


def test_backend_gcp_uses_application_default_credentials(settings, tmp_path, monkeypatch):
    # No credentials here (and none looked up from the metadata server): the error says what to run.
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "none.json"))
    gcp = settings.replace(backend="gcp", gcp_project="my-project-123", gcs_bucket="my-project-123-data-lake")
    with pytest.raises(LakeError, match="gcloud auth application-default login"):
        Lake(gcp)
    assert Lake(gcp, url=str(tmp_path / "lake")).protocol == ""  # a folder lake needs no cloud at all


def test_the_emulator_lake_needs_the_stack(scratch_settings):
    with pytest.raises(LakeError, match="zoomcamp stack up"):
        Lake(scratch_settings)


def test_converter_refuses_malformed_rows_without_a_quarantine_and_leaves_no_file(tmp_path):
    source = tmp_path / "yellow_tripdata_2021-01.csv"
    lines = gzip.open(datasets.trip_file("yellow", "2021-01"), "rt").read().splitlines()
    source.write_text("\n".join([*lines[:5], "1,2,3", *lines[5:10]]) + "\n")
    target = tmp_path / "out.parquet"
    with pytest.raises(datasets.BadFile, match="line 6"):
        to_parquet(source, target, "yellow")
    assert not target.exists()


# An upload killed half way (SIGKILL: no cleanup code runs) must leave the lake as it was, and a re-run must fix it.
KILLED_UPLOAD = textwrap.dedent("""
    import os, signal, sys
    from zoomcamp.lake import Lake
    lake = Lake(url=sys.argv[1])

    def dying_put(local, remote, callback=None, **kwargs):
        data = open(local, "rb").read()
        with lake.fs.open(remote, "wb", block_size=256 * 1024) as f:  # a resumable upload, in 256 KiB chunks
            f.write(data[: len(data) // 2])
            f.flush()  # the first chunks reach the server
            os.kill(os.getpid(), signal.SIGKILL)

    lake.fs.put_file = dying_put
    lake.ingest("yellow", sys.argv[2], progress=False)
""")


@pytest.mark.parametrize("where", ["bucket", "folder"])
def test_an_upload_killed_half_way_leaves_a_correct_lake(where, settings, tmp_path):
    url = f"gs://test-kill-{uuid.uuid4().hex[:8]}" if where == "bucket" else str(tmp_path / "lake")
    env = {**os.environ, "ZOOMCAMP_SAMPLE_ROWS": "20000"}  # a parquet file of several upload chunks
    lake = Lake(settings.replace(sample_rows=20_000), url=url)
    month, fresh = "2020-06", "2020-07"  # months no other test uses: their 20,000-row samples stay apart
    first = lake.ingest("yellow", [month], progress=False)[0]

    for target in (month, fresh):
        killed = subprocess.run([sys.executable, "-c", KILLED_UPLOAD, url, target], env=env, cwd=ROOT,
                                capture_output=True, text=True)
        assert killed.returncode == -9, killed.stderr
    states = {s.month: s for s in lake.check(["yellow"], [month, fresh])}
    assert states[month].state == "present" and states[month].rows == first.rows  # the old month, whole
    assert states[fresh].state == "missing"  # never half a file

    lake.ingest("yellow", [month, fresh], progress=False)
    assert [s.state for s in lake.check(["yellow"], [month, fresh])] == ["present", "present"]
    assert lake.leftovers() == []
    assert lake.dataset("yellow").count_rows() == 2 * first.rows
    if where == "bucket":
        lake.fs.rm(lake.root, recursive=True)


# Killed (SIGKILL) after the month's new file is in place and before its manifest is written.
KILLED_BEFORE_MANIFEST = textwrap.dedent("""
    import os, signal, sys
    from zoomcamp.lake import Lake
    lake = Lake(url=sys.argv[1])
    real_open = lake.fs.open

    def dying_open(path, mode="rb", *args, **kwargs):
        if "_manifests" in str(path) and "w" in mode:
            os.kill(os.getpid(), signal.SIGKILL)
        return real_open(path, mode, *args, **kwargs)

    lake.fs.open = dying_open
    lake.ingest("yellow", sys.argv[2], progress=False)
""")


def test_a_run_killed_before_its_manifest_leaves_a_present_month_and_no_temp_files(settings, tmp_path):
    url = str(tmp_path / "lake")
    lake = Lake(settings, url=url)
    source = lake.fetch("yellow", "2021-01")
    parquet, bad = lake.convert(source, "yellow", "2021-01")
    small = tmp_path / "small.parquet"
    pq.write_table(pq.read_table(parquet).slice(0, 100), small)  # an earlier, smaller version of the month
    parquet.unlink()
    bad.unlink(missing_ok=True)
    lake.publish(small, "yellow", "2021-01")
    work = settings.home / "tmp"
    before = set(work.iterdir())

    killed = subprocess.run([sys.executable, "-c", KILLED_BEFORE_MANIFEST, url, "2021-01"], cwd=ROOT,
                            capture_output=True, text=True)
    assert killed.returncode == -9, killed.stderr
    [state] = lake.check(["yellow"], ["2021-01"])
    rows = datasets.read_csv(source).shape[0]
    assert (state.state, state.rows) == ("present", rows), state  # the new file is whole: not "damaged"
    left = set(work.iterdir()) - before
    assert [p.name.split(".")[-1] for p in left] == ["parquet"]  # the killed run's temporary file

    lake.ingest("yellow", ["2021-01"], progress=False)  # the next run removes them, and writes the manifest
    assert not set(work.iterdir()) - before
    [state] = lake.check(["yellow"], ["2021-01"])
    assert (state.state, state.rows, state.expected_rows, state.detail) == ("present", rows, rows, "")
