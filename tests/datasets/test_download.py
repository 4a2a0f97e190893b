"""The downloader against a local HTTP server: cache, resume, checksum record, and clear errors."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from types import SimpleNamespace

import pytest
from http_server import FileServer

from zoomcamp import datasets
from zoomcamp.datasets import DownloadError, download, mirror
from zoomcamp.datasets import downloader as download_module

PARQUET = "/trip-data/yellow_tripdata_2021-01.parquet"
BACKUP = "/yellow/yellow_tripdata_2021-01.csv.gz"
BODY = os.urandom(700_000)


@pytest.fixture
def server():
    with FileServer({PARQUET: BODY, BACKUP: BODY[:1000], "/misc/taxi_zone_lookup.csv": b"LocationID\n1\n"}) as s:
        yield s


@pytest.fixture
def s(scratch_settings, server):
    return scratch_settings.replace(tlc_base_url=server.url, backup_base_url=server.url, download_timeout=5)


def test_downloads_records_checksum_and_caches(s, server):
    path = download("yellow", "2021-01", settings=s, progress=False)
    assert path.read_bytes() == BODY
    entry = datasets.Manifest(path.parent).get(path.name)
    assert entry["sha256"] == hashlib.sha256(BODY).hexdigest() and entry["size"] == len(BODY)
    assert not list(path.parent.glob("*.part*"))
    download("yellow", "2021-01", settings=s, progress=False)
    assert len(server.requests) == 1  # the second call was served from the cache


def test_csv_backup_and_zones_come_from_their_own_urls(s, server):
    assert download("yellow", "2021-01", "csv.gz", settings=s, progress=False).read_bytes() == BODY[:1000]
    assert download("zones", settings=s, progress=False).name == "taxi_zone_lookup.csv"
    assert [r["path"] for r in server.requests] == [BACKUP, "/misc/taxi_zone_lookup.csv"]


def test_the_local_tlc_mirror_serves_files_at_the_tlcs_paths(scratch_settings, tmp_path):
    trips, zones = tmp_path / "green_tripdata_2021-02.parquet", tmp_path / "taxi_zone_lookup.csv"
    trips.write_bytes(b"trips")
    zones.write_bytes(b"LocationID\n1\n")
    with mirror.tlc_mirror([trips, zones]) as site:
        s = scratch_settings.replace(tlc_base_url=site.url, download_timeout=5)
        assert download("green", "2021-02", settings=s, progress=False).read_bytes() == b"trips"
        assert download("zones", settings=s, progress=False).read_bytes() == b"LocationID\n1\n"
        with pytest.raises(DownloadError, match="not published"):  # a month the mirror does not hold
            download("green", "2021-03", settings=s, progress=False)
    assert [r["path"] for r in site.requests] == ["/trip-data/green_tripdata_2021-02.parquet",
                                                  "/misc/taxi_zone_lookup.csv",
                                                  "/trip-data/green_tripdata_2021-03.parquet"]


def test_a_cut_connection_is_resumed_with_a_range_request(s, server):
    server.cut_after[PARQUET] = 250_000
    path = download("yellow", "2021-01", settings=s, progress=False)
    assert path.read_bytes() == BODY
    assert [r["range"] for r in server.requests] == [None, "bytes=250000-"]
    assert server.requests[1]["if_range"]  # resumed only if the file did not change


def test_a_part_file_left_by_an_earlier_run_is_resumed(s, server):
    folder = download_module.tlc_dir(s)
    folder.mkdir(parents=True)
    (folder / "yellow_tripdata_2021-01.parquet.part").write_bytes(BODY[:100_000])
    path = download("yellow", "2021-01", settings=s, progress=False)
    assert path.read_bytes() == BODY
    assert server.requests[0]["range"] == "bytes=100000-"


def test_a_changed_file_on_the_server_starts_over(s, server):
    folder = download_module.tlc_dir(s)
    folder.mkdir(parents=True)
    (folder / "yellow_tripdata_2021-01.parquet.part").write_bytes(b"x" * 1000)
    (folder / "yellow_tripdata_2021-01.parquet.part.json").write_text(json.dumps({"validator": '"old-etag"'}))
    assert download("yellow", "2021-01", settings=s, progress=False).read_bytes() == BODY


def test_repeated_cuts_end_in_a_clear_error_and_keep_the_part(s, server, monkeypatch):
    monkeypatch.setattr(download_module, "RETRIES", 1)
    server.cut_after[PARQUET] = 50_000
    with pytest.raises(DownloadError, match="interrupted at 50,000 of 700000 bytes.*run the same command again"):
        download("yellow", "2021-01", settings=s, progress=False)
    part = download_module.tlc_dir(s) / "yellow_tripdata_2021-01.parquet.part"
    assert part.stat().st_size == 50_000  # kept for the next run
    assert download("yellow", "2021-01", settings=s, progress=False).read_bytes() == BODY


def test_a_month_that_does_not_exist(s):
    with pytest.raises(DownloadError, match=r"yellow_tripdata_2031-01.parquet is not published .*HTTP 404"):
        download("yellow", "2031-01", settings=s, progress=False)
    assert not any(download_module.tlc_dir(s).iterdir())


def test_offline_gives_one_clear_line(scratch_settings):
    from zoomcamp.stack import free_port

    s = scratch_settings.replace(tlc_base_url=f"http://127.0.0.1:{free_port()}", download_timeout=2)
    with pytest.raises(DownloadError, match="cannot reach 127.0.0.1.*offline.*zoomcamp data sample") as info:
        download("green", "2021-01", settings=s, progress=False)
    assert "\n" not in str(info.value)


def test_not_enough_disk_is_refused_before_writing(s, monkeypatch):
    monkeypatch.setattr(download_module.shutil, "disk_usage", lambda path: SimpleNamespace(free=10_000))
    with pytest.raises(DownloadError, match="not enough disk space"):
        download("yellow", "2021-01", settings=s, progress=False)
    assert not any(download_module.tlc_dir(s).iterdir())


def test_disk_full_while_writing_keeps_the_earlier_part(s, server, monkeypatch):
    folder = download_module.tlc_dir(s)
    folder.mkdir(parents=True)
    part = folder / "yellow_tripdata_2021-01.parquet.part"
    part.write_bytes(BODY[:100_000])

    real_open = open
    written = {"n": 0}

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def write(self, block):
            written["n"] += len(block)
            if written["n"] > 200_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.f.write(block)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.f.__exit__(*exc)

    monkeypatch.setattr(download_module, "open", lambda *a, **k: FullDisk(real_open(*a, **k)), raising=False)
    with pytest.raises(DownloadError, match="disk is full"):
        download("yellow", "2021-01", settings=s, progress=False)
    assert part.read_bytes() == BODY[:100_000]  # trimmed back to where the attempt started
    assert not (folder / "yellow_tripdata_2021-01.parquet").exists()


def test_unknown_type_and_bad_month_fail_before_any_request(s, server):
    with pytest.raises(datasets.UnknownTaxiType):
        download("purple", "2021-01", settings=s)
    with pytest.raises(datasets.BadMonth):
        download("yellow", "2021-1", settings=s)
    assert server.requests == []
