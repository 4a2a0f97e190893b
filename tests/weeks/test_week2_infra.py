"""Week 2's Terraform, checked offline: it parses, is formatted, and describes the lake the course writes."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from terraform_files import tf_blocks, unquote

from zoomcamp.lake import RAW, Lake
from zoomcamp.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "week_2_ingestion" / "terraform"


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed on this machine")
def test_formatted():
    result = subprocess.run(["terraform", "fmt", "-check", "-recursive", str(TERRAFORM)], capture_output=True,
                            text=True)
    assert result.returncode == 0, f"not formatted (run terraform fmt -recursive): {result.stdout}"


def test_lifecycle_rules_for_raw_processed_and_interrupted_uploads():
    bucket = tf_blocks(TERRAFORM, "resource")["google_storage_bucket.lake"]
    rules = {unquote(r["action"][0]["type"]): r["condition"][0] for r in bucket["lifecycle_rule"]}
    prefixes = [str(r["condition"][0]["matches_prefix"]) for r in bucket["lifecycle_rule"]]
    assert any(f"{RAW}/" in p for p in prefixes) and any("_incoming/" in p for p in prefixes)
    assert "var.processed_nearline_days" in str(rules["SetStorageClass"]["age"])


def test_external_tables_match_the_lake_layout(settings, tmp_path):
    resources = tf_blocks(TERRAFORM, "resource")
    table = resources["google_bigquery_table.external_trips"]
    config = table["external_data_configuration"][0]
    assert unquote(config["source_format"]) == "PARQUET"
    prefix = unquote(config["hive_partitioning_options"][0]["source_uri_prefix"])
    # The folders Terraform tells BigQuery to expect are the ones the course's lake writes.
    keys = re.findall(r"\{(\w+):INTEGER\}", prefix)
    lake_partition = Lake(settings, url=str(tmp_path)).partition("yellow", "2021-03")
    assert [part.split("=")[0] for part in lake_partition.split("/")[-2:]] == keys == ["year", "month"]
    variables = tf_blocks(TERRAFORM, "variable")
    assert Settings().bq_dataset in str(variables["bq_dataset"]["default"])


def test_variables_declared_used_and_no_credentials():
    declared = tf_blocks(TERRAFORM, "variable")
    text = "\n".join(p.read_text() for p in TERRAFORM.glob("*.tf"))
    used = set(re.findall(r"var\.(\w+)", text))
    assert used == set(declared)
    assert "default" not in declared["project"] and declared["project"]["validation"]
    assert not re.search(r"credentials|private_key|access_key", text)
