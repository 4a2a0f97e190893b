"""The local GCS emulator in the stack, used through the official google-cloud-storage client."""

from __future__ import annotations

import socket

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from zoomcamp import stack
from zoomcamp.stack import StackError
from zoomcamp.stack.gcs import Gcs

pytestmark = pytest.mark.stack  # starts, or needs, the local services


@pytest.fixture(scope="module")
def client():
    env = stack.env()
    assert env["STORAGE_EMULATOR_HOST"].startswith("http://127.0.0.1:")
    import os

    os.environ["STORAGE_EMULATOR_HOST"] = env["STORAGE_EMULATOR_HOST"]
    return storage.Client(project="zoomcamp", credentials=AnonymousCredentials())


def test_buckets_objects_prefixes_and_range_reads(client):
    bucket = client.create_bucket("test-lake")
    for month in ("01", "02"):
        bucket.blob(f"yellow/year=2021/month={month}/part-0.parquet").upload_from_string(b"0123456789")
    bucket.blob("zones/taxi_zone_lookup.csv").upload_from_string("LocationID\n1\n")
    listing = client.list_blobs("test-lake", prefix="yellow/year=2021/", delimiter="/")
    assert list(listing) == [] and set(listing.prefixes) == {"yellow/year=2021/month=01/", "yellow/year=2021/month=02/"}
    blob = bucket.blob("yellow/year=2021/month=02/part-0.parquet")
    assert blob.download_as_bytes(start=2, end=4) == b"234"
    assert "test-lake" in [b.name for b in client.list_buckets()]


def test_objects_survive_a_restart(client, settings):
    client.bucket("test-lake").blob("kept.txt").upload_from_string("still here")
    server = stack.get("gcs")
    port = server.status().details["port"]
    assert not server.stop().running
    assert stack.env().get("STORAGE_EMULATOR_HOST") is None
    assert server.start().running and server.status().details["port"] == port  # same place as before
    assert client.bucket("test-lake").blob("kept.txt").download_as_text() == "still here"


def test_a_configured_port_in_use_is_refused(settings, scratch_home):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(StackError, match=f"gcs: port {port} is in use.*ZOOMCAMP_GCS_PORT"):
            Gcs(settings.replace(home=scratch_home, gcs_port=port)).start()
    assert not (scratch_home / "stack").exists()
