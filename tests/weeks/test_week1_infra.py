"""Week 1's Docker, compose, Terraform and ingest-script files, checked without a Docker engine or a cloud
account: they parse, they are formatted, every path and variable they name exists, and no secret is in them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from terraform_files import tf_blocks, unquote

from zoomcamp import datasets, db, stack
from zoomcamp.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
WEEK = ROOT / "week_1_basics"
DOCKER = WEEK / "docker"
TERRAFORM = WEEK / "terraform"


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed on this machine")
def test_terraform_files_are_formatted():
    result = subprocess.run(["terraform", "fmt", "-check", "-recursive", str(TERRAFORM)], capture_output=True,
                            text=True)
    assert result.returncode == 0, f"not formatted (run terraform fmt -recursive): {result.stdout}"


def test_gcp_bucket_and_dataset():
    resources = tf_blocks(TERRAFORM / "gcp", "resource")
    bucket = resources["google_storage_bucket.data_lake"]
    assert bucket["versioning"][0]["enabled"] is True
    rule = bucket["lifecycle_rule"][0]
    assert unquote(rule["action"][0]["type"]) == "Delete" and "var.retention_days" in rule["condition"][0]["age"]
    assert "google_bigquery_dataset.trips" in resources
    assert Settings().bq_dataset in (TERRAFORM / "gcp" / "variables.tf").read_text()  # same default as the course


def test_gcp_budget_alerts_on_the_course_project():
    """The budget: on this project only, alerts at 50/90/100 % and on the forecast, and only when the student gives
    a (well-formed) billing account, so a plain `terraform apply -var project=...` still works."""
    budget = tf_blocks(TERRAFORM / "gcp", "resource")["google_billing_budget.course"]
    assert "var.billing_account == null ? 0 : 1" in budget["count"]
    assert "var.billing_account" in budget["billing_account"]
    projects = [unquote(p) for p in budget["budget_filter"][0]["projects"]]
    assert projects == ["projects/${data.google_project.course.number}"]
    assert "var.budget_amount" in budget["amount"][0]["specified_amount"][0]["units"]
    rules = [(float(r["threshold_percent"]), unquote(r.get("spend_basis", "CURRENT_SPEND")))
             for r in budget["threshold_rules"]]
    assert sorted(rules) == [(0.5, "CURRENT_SPEND"), (0.9, "CURRENT_SPEND"), (1.0, "CURRENT_SPEND"),
                             (1.0, "FORECASTED_SPEND")]
    variables = tf_blocks(TERRAFORM / "gcp", "variable")
    assert variables["billing_account"]["default"] is None and variables["billing_account"]["validation"]
    assert variables["budget_amount"]["default"] > 0 and variables["budget_amount"]["validation"]


def test_aws_alternative_bucket():
    resources = tf_blocks(TERRAFORM / "aws", "resource")
    assert {"aws_s3_bucket.data_lake", "aws_s3_bucket_versioning.data_lake",
            "aws_s3_bucket_lifecycle_configuration.data_lake"} <= set(resources)


@pytest.mark.parametrize("cloud", ["gcp", "aws"])
def test_variables_are_declared_used_and_validated(cloud):
    folder = TERRAFORM / cloud
    declared = tf_blocks(folder, "variable")
    text = "\n".join(p.read_text() for p in folder.glob("*.tf"))
    used = set(re.findall(r"var\.(\w+)", text))
    assert used == set(declared), f"unused: {set(declared) - used}; undeclared: {used - set(declared)}"
    # The identity of the student's project or bucket is always theirs to give: no default, and validated.
    identity = "project" if cloud == "gcp" else "bucket_name"
    assert "default" not in declared[identity] and declared[identity]["validation"]


@pytest.mark.parametrize("cloud", ["gcp", "aws"])
def test_no_hard_coded_project_or_credentials(cloud):
    for path in (TERRAFORM / cloud).glob("*"):
        text = path.read_text()
        assert not re.search(r'^\s*project\s*=\s*"', text, re.M), f"{path.name}: a literal project id"
        assert not re.search(r"credentials|access_key|secret_key|private_key", text), f"{path.name}: credentials"


def test_dockerfile_copies_only_what_is_committed():
    compose = yaml.safe_load((DOCKER / "docker-compose.yaml").read_text())
    build = compose["services"]["ingest"]["build"]
    context = (DOCKER / build["context"]).resolve()
    dockerfile = context / build["dockerfile"]
    assert context == ROOT and dockerfile == DOCKER / "Dockerfile"
    copies = re.findall(r"^COPY\s+(.+)$", dockerfile.read_text(), re.M)
    assert copies
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for line in copies:
        for source in line.split()[:-1]:
            assert (context / source).exists(), f"COPY {source}: missing"
            prefix = source.rstrip("/")
            if tracked:  # in a git checkout, what is copied must be committed, not a local leftover
                assert any(t == prefix or t.startswith(prefix + "/") for t in tracked), f"COPY {source}: not in git"
    assert "ingest.py" in dockerfile.read_text()


def test_compose_services_ports_env_and_volumes():
    compose = yaml.safe_load((DOCKER / "docker-compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"pgdatabase", "pgadmin", "ingest"}
    db_service = services["pgdatabase"]
    assert db_service["healthcheck"]["test"]
    assert [p.split(":")[-1] for p in db_service["ports"]] == ["5432"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith("."):
                assert source in compose["volumes"], f"{name}: named volume {source} is not declared"
    for dep in ("pgadmin", "ingest"):
        assert services[dep]["depends_on"]["pgdatabase"]["condition"] == "service_healthy"
    # Inside the compose network the database is the service name on the container port, never localhost.
    url = services["ingest"]["environment"]["DATABASE_URL"]
    assert "@pgdatabase:5432/" in url and "localhost" not in url


def test_env_example_covers_every_variable_and_matches_the_course():
    text = (DOCKER / "docker-compose.yaml").read_text()
    needed = set(re.findall(r"(?<!\$)\$\{(\w+)\}", text))
    example = dict(line.split("=", 1) for line in (DOCKER / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert needed <= set(example), f"missing from .env.example: {needed - set(example)}"
    assert example["POSTGRES_USER"] == Settings().postgres_user and example["POSTGRES_DB"] == Settings().postgres_db
    assert not (DOCKER / ".env").exists() or ".env" in (ROOT / ".gitignore").read_text()


@pytest.mark.stack
def test_ingest_script_loads_into_the_database_it_is_given(tmp_path):
    script = WEEK / "ingest" / "ingest.py"
    env = {**os.environ, "DATABASE_URL": stack.env()["DATABASE_URL"]}
    zones = datasets.zones_file()
    result = subprocess.run([sys.executable, str(script), "--table", "script_zones", "--file", str(zones)],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "265 rows loaded into script_zones" in result.stdout
    assert db.query("SELECT count(*) AS n FROM script_zones").loc[0, "n"] == 265
    bad = subprocess.run([sys.executable, str(script), "--table", "t", "--file", str(tmp_path / "nope.csv")],
                         env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "Traceback" not in bad.stderr
