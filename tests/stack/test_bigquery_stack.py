"""The BigQuery emulator in the stack: started offline, used through the official client, kept across restarts."""

from __future__ import annotations

import socket

import pytest

from zoomcamp import stack, warehouse
from zoomcamp.stack import StackError
from zoomcamp.stack.bigquery import BigQuery

pytestmark = pytest.mark.stack  # starts, or needs, the local services


def test_the_session_emulator_answers_the_official_client_with_spatial_loaded(settings):
    server = stack.get("bigquery")
    status = server.status()
    assert status.running and status.details["pid"] and status.details["grpc_port"] != status.details["port"]
    assert stack.env()["BIGQUERY_EMULATOR_HOST"] == f"http://127.0.0.1:{status.details['port']}"
    # The spatial extension came from the wheel, installed into the stack's own HOME: nothing was downloaded.
    installed = list((server.home / ".duckdb" / "extensions").rglob("spatial.duckdb_extension"))
    assert len(installed) == 1
    bq = warehouse.client(settings)
    point = bq.query("SELECT ST_ASTEXT(ST_GEOGPOINT(-73.98, 40.75)) AS p").result()
    # DuckDB's spatial writes "POINT (x y)", BigQuery "POINT(x y)": either way, a point computed by the extension.
    assert [row["p"].replace("POINT (", "POINT(") for row in point] == ["POINT(-73.98 40.75)"]


def test_tables_survive_a_restart_on_the_same_port(settings):
    bq = warehouse.client(settings)
    bq.create_dataset("stack_check", exists_ok=True)
    bq.query("CREATE OR REPLACE TABLE stack_check.kept AS SELECT 'still here' AS note").result()
    server = stack.get("bigquery")
    port = server.status().details["port"]
    stopped = server.stop()
    assert not stopped.running and stopped.message == "stopped"
    assert "not running" in server.stop().message  # down twice is fine
    assert "BIGQUERY_EMULATOR_HOST" not in stack.env()
    with pytest.raises(warehouse.WarehouseError, match="zoomcamp stack up"):
        warehouse.client(settings)
    assert server.start().running and server.status().details["port"] == port
    again = warehouse.client(settings).query("SELECT note FROM stack_check.kept").result()
    assert [row["note"] for row in again] == ["still here"]


def test_a_configured_port_in_use_is_refused_and_creates_nothing(settings, scratch_home):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(StackError, match=f"bigquery: port {port} is in use.*ZOOMCAMP_BQ_PORT"):
            BigQuery(settings.replace(home=scratch_home, bq_port=port)).start()
    assert not (scratch_home / "stack").exists()


def test_a_failed_start_reports_the_end_of_the_emulators_log(settings, scratch_home):
    server = BigQuery(settings.replace(home=scratch_home))
    server.data_dir.mkdir(parents=True)
    (server.data_dir / "bqemulator.duckdb").write_bytes(b"not a database" * 100)  # a damaged catalog
    with pytest.raises(StackError, match=r"bigquery: the emulator on port \d+ did not start .+\(log: "):
        server.start()
    assert not server.status().running and server.read_state() == {}
