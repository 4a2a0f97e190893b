"""DEZ students on the course's stack: `zoomcamp dez check` on a DEZ-shaped folder, and every command of DEZ.md run
in order in such a folder (the data commands against a local HTTP server standing in for the TLC and GitHub)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from http_server import FileServer
from in_process import zoomcamp

from zoomcamp import datasets, dbt, dez

pytestmark = pytest.mark.stack

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", (ROOT / "DEZ.md").read_text(), re.MULTILINE | re.DOTALL)


def dez_folder(folder: Path) -> Path:
    """A DEZ homework folder in miniature, in DEZ's shapes (not its files): a dbt project whose profile is `default`
    and whose sources read DBT_DATABASE/DBT_SCHEMA, a Spark notebook reading the fhvhv backup, a Kafka producer on
    localhost:9092 with an Avro registry, a compose file, Terraform."""
    (folder / "models" / "staging").mkdir(parents=True)
    (folder / "dbt_project.yml").write_text("name: taxi_rides_ny\nversion: '1.0.0'\nconfig-version: 2\n"
                                            "profile: default\n")
    (folder / "models" / "staging" / "schema.yml").write_text(
        "version: 2\nsources:\n  - name: staging\n"
        "    database: \"{{ env_var('DBT_DATABASE', 'my-gcp-project') }}\"\n"
        "    schema: \"{{ env_var('DBT_SCHEMA', 'trips_data_all') }}\"\n"
        "    tables:\n      - name: yellow_tripdata\n")
    (folder / "models" / "staging" / "stg_yellow_tripdata.sql").write_text(
        "select vendorid, tpep_pickup_datetime, total_amount\n"
        "from {{ source('staging', 'yellow_tripdata') }}\nwhere vendorid is not null\n")
    notebook = {"cells": [{"cell_type": "code", "source": [
        "from pyspark.sql import SparkSession\n",
        "df = spark.read.option('header', 'true').csv('fhvhv_tripdata_2021-01.csv.gz')\n"]}]}
    (folder / "spark.ipynb").write_text(json.dumps(notebook))
    (folder / "producer.py").write_text("from kafka import KafkaProducer\n"
                                        "producer = KafkaProducer(bootstrap_servers=['localhost:9092'])\n"
                                        "producer.bootstrap_connected()\n"
                                        "SCHEMA_REGISTRY_URL = 'http://localhost:8081'\n")
    (folder / "docker-compose.yml").write_text("services:\n  pgdatabase:\n    image: postgres:13\n")
    (folder / "main.tf").write_text('provider "google" {}\n')
    return folder


def test_dez_check_says_what_runs_and_what_does_not(tmp_path):
    report = dez.check(dez_folder(tmp_path / "hw"))
    by = {(f.path, f.area): f for f in report.findings}
    assert by[("dbt_project.yml", "dbt (module 4)")].what.startswith("zoomcamp dbt load-raw --target dev; eval")
    assert "'default'" in by[("dbt_project.yml", "dbt (module 4)")].what
    spark = by[("spark.ipynb", "Spark (module 5)")]
    assert spark.verdict == dez.RUNS and "zoomcamp data download fhvhv 2021-01 -f csv.gz" in spark.what
    kafka = [f for f in report.findings if f.path == "producer.py"]
    assert [f.verdict for f in kafka] == [dez.INSTEAD, dez.INSTEAD]
    assert "localhost:9092" in kafka[0].what and "bootstrap_connected" in kafka[0].what
    assert "zoomcamp schema-registry" in kafka[1].what
    assert by[("main.tf", "Terraform (module 1)")].verdict == dez.NOT_OFFLINE
    assert ("docker-compose.yml", "Docker (module 1)") in by
    assert not any(f.path.endswith("schema.yml") for f in report.findings)  # its sources read DBT_SCHEMA: nothing to do
    assert report.services == ["postgres", "kafka"]
    (tmp_path / "hw" / "models" / "staging" / "schema.yml").write_text(  # DEZ 2026: a fixed raw schema
        "version: 2\nsources:\n  - name: raw\n    schema: |\n      {%- if target.type == 'bigquery' -%} nytaxi\n"
        "      {%- else -%} prod {%- endif -%}\n    tables:\n      - name: yellow_tripdata\n")
    fixed = [f for f in dez.check(tmp_path / "hw").findings if f.path.endswith("schema.yml")]
    assert len(fixed) == 1 and "'nytaxi' or 'prod'" in fixed[0].what
    done = zoomcamp("dez", "check", str(tmp_path / "nope"))  # in this process (tests/in_process.py)
    assert done.returncode == 2 and done.stderr.strip() == f"error: {tmp_path / 'nope'}: no such folder (give your " \
                                                            "DEZ homework folder)"


def test_every_command_of_dez_md_runs(settings, tmp_path):
    """DEZ.md's bash blocks, in order, in a DEZ-shaped folder, as one shell session (set -e: any failing command
    fails the test); then what they made: the external table's rows, the DEZ dbt model's."""
    folder = dez_folder(tmp_path / "hw")
    (folder / "homework.sql").write_text(blocks("sql")[0])
    script = "set -euo pipefail\nexport PS4='+ $(date +%s.%N) '\nset -x\n" + "\n".join(blocks("bash"))
    assert dez.dbt_commands("dev") == blocks("bash")[-1].strip().splitlines()  # test_dbt runs these on DuckDB too
    sample = {f"/fhvhv/{p.name}": p.read_bytes()
              for p in [datasets.trip_file("fhvhv", "2021-01", settings=settings)]}
    with FileServer(sample) as server:
        environ = dict(os.environ, PATH=f"{BIN}:{os.environ['PATH']}", ZOOMCAMP_TLC_BASE_URL=server.url,
                       ZOOMCAMP_BACKUP_BASE_URL=server.url, DBT_SEND_ANONYMOUS_USAGE_STATS="false",
                       DBT_TARGET_SCHEMA="dez_dev", COLUMNS="200")
        done = subprocess.run(["bash", "-c", script], cwd=folder, env=environ, capture_output=True, text=True,
                              timeout=600)
    print("\n".join(line for line in done.stderr.splitlines() if line.startswith("+ ")))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert {r["path"] for r in server.requests} == set(sample)  # the download, from the stand-in server
    assert (folder / "fhvhv_tripdata_2021-01.csv.gz").read_bytes() == sample["/fhvhv/fhvhv_tripdata_2021-01.csv.gz"]
    months = [pd.read_parquet(datasets.trip_file("yellow", m, "parquet", settings=settings))
              for m in ("2024-01", "2024-02")]
    trips = re.search(r"^\s*trips\s*\n\s*(\d+)\s*$", done.stdout, re.MULTILINE)
    assert trips and int(trips[1]) == sum(len(m) for m in months), done.stdout[-2000:]
    yellow = datasets.read_csv(datasets.trip_file("yellow", "2021-01", settings=settings))
    built = dbt.query("SELECT count(*) AS n FROM dez_dev.stg_yellow_tripdata", "dev", settings=settings)
    assert built["n"].item() == yellow["VendorID"].notna().sum()
    with dbt._environ({"DBT_TARGET_SCHEMA": "dez_dev"}):
        dbt.reset("dev", raw=False, settings=settings)
