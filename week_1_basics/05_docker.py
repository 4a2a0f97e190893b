# %% [markdown]
# # 05 · Docker: images, containers, networks, volumes
#
# **What you will learn**
# - what an image and a container are, and why the course's pipeline ships as one;
# - how `docker-compose.yaml` wires PostgreSQL, pgAdmin and the ingestion job together: networks, ports, volumes;
# - the classic mistake: `localhost` inside a container is the container itself, not your laptop;
# - what to install, the stack run for real where a Docker engine exists, and where containers run Airflow, dbt,
#   Spark and AWS Batch jobs.
#
# **What you need running:** nothing. This notebook reads and checks the week's Docker files without a Docker engine
# (the course's CI has none); where an engine answers (`docker info`), it also builds the image and runs the compose
# stack for real (PostgreSQL, pgAdmin, the ingestion job) and checks that the rows landed.

# %% [markdown]
# ## Images and containers
#
# An **image** is a read-only file system plus a start command, built from a `Dockerfile` layer by layer. A
# **container** is a running instance of an image, with its own process space, network interface and writable layer.
# The week's ingestion job as an image:

# %%

import pandas as pd
import yaml

from zoomcamp.settings import get_settings, project_root

root = project_root()
docker_dir = root / "week_1_basics" / "docker"
print((docker_dir / "Dockerfile").read_text())

# %% [markdown]
# Each `COPY` takes files from the *build context* (here the project root, as the compose file says). A `COPY` of a
# file that is not there breaks the build, so check them all:

# %%
import re

compose = yaml.safe_load((docker_dir / "docker-compose.yaml").read_text())
context = (docker_dir / compose["services"]["ingest"]["build"]["context"]).resolve()
sources = [s for line in re.findall(r"^COPY\s+(.+)$", (docker_dir / "Dockerfile").read_text(), re.M)
           for s in line.split()[:-1]]
missing = [s for s in sources if not (context / s).exists()]
assert context == root and not missing
sources

# %% [markdown]
# Build and run it (with Docker): `docker build -f week_1_basics/docker/Dockerfile -t zoomcamp-ingest .` then
# `docker run --rm zoomcamp-ingest --help`.
#
# ## Compose: several containers, one network
#
# `docker compose` starts the services of `docker-compose.yaml` on a private network where each service is reachable
# by its **name**. Ports are published to your laptop as `host:container`; named volumes keep data when containers are
# removed.

# %%
services = pd.DataFrame([
    {"service": name,
     "image or build": s.get("image") or s["build"]["dockerfile"],
     "ports (host:container)": ", ".join(s.get("ports", [])) or "-",
     "volumes": ", ".join(s.get("volumes", [])) or "-",
     "waits for": ", ".join(s.get("depends_on", {})) or "-"}
    for name, s in compose["services"].items()])
assert set(services["service"]) == {"pgdatabase", "pgadmin", "ingest"}
assert set(compose["volumes"]) == {"ny_taxi_postgres_data", "pgadmin_data"}
services

# %% [markdown]
# ## The `localhost` mistake
#
# pgAdmin and the ingestion job run in their own containers. From inside them, `localhost` is *that container*, where no
# database listens. They must use the service name and the **container** port: `pgdatabase:5432`. From your laptop, the
# same database is `localhost:5433` (the published port).

# %%
url = compose["services"]["ingest"]["environment"]["DATABASE_URL"]
host_port = compose["services"]["pgdatabase"]["ports"][0]
assert "@pgdatabase:5432/" in url and "localhost" not in url
assert host_port.split(":")[1] == "5432"
print("inside the network:", url.split("@")[1])
print("from the laptop:    localhost:" + host_port.split(":")[0])

# %% [markdown]
# Health checks make `depends_on` wait until PostgreSQL accepts connections, not just until its container started:

# %%
assert compose["services"]["ingest"]["depends_on"]["pgdatabase"]["condition"] == "service_healthy"
compose["services"]["pgdatabase"]["healthcheck"]

# %% [markdown]
# Secrets stay out of git: the compose file reads `${POSTGRES_PASSWORD}` and friends from a `.env` file that you make
# from `.env.example` (and `.gitignore` keeps `.env` out). Its user and database are the course's own settings, so the
# notebooks' SQL works the same against the container:

# %%
example = dict(line.split("=", 1) for line in (docker_dir / ".env.example").read_text().splitlines()
               if line and not line.startswith("#"))
settings = get_settings()
assert (example["POSTGRES_USER"], example["POSTGRES_DB"]) == (settings.postgres_user, settings.postgres_db)
{k: v for k, v in example.items() if "PASSWORD" not in k}

# %% [markdown]
# ## Running it for real
#
# **What to install:** on Linux, Docker Engine and its compose plugin (`apt install docker.io docker-compose-v2`, or
# Docker's own packages from docs.docker.com/engine/install), then add yourself to the `docker` group; on macOS or
# Windows, Docker Desktop (on Windows with WSL 2), which bundles both. `docker info` answers when the engine runs;
# `docker compose version` should say v2.
#
# By hand: `cp .env.example .env` (change the passwords), `docker compose up -d pgdatabase pgadmin`, then
# `docker compose run --rm ingest --table yellow_taxi_trips --file /data/yellow_tripdata_2021-01.csv.gz` (the
# compose file mounts the course's sample folder at `/data`); pgAdmin is on http://localhost:8080.
#
# The next cell does exactly that where a Docker engine answers: it builds the course's image, starts PostgreSQL and
# pgAdmin (project `zoomcamp-week1`, passwords made up for the run, the host ports of the compose file: 5433 and
# 8080 must be free), runs the ingestion job on a month of yellow trips, counts the rows that landed, and removes
# everything again (`down -v`). Where there is no engine (the course's CI) it says so and the checks above stand.

# %%
import gzip
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from zoomcamp import datasets

engine = shutil.which("docker") is not None and subprocess.run(["docker", "info"], capture_output=True).returncode == 0
if not engine:
    print("No Docker engine here (`docker info` fails): the files are checked above, the real run is skipped.")
else:
    trips_file = datasets.trip_file("yellow", "2021-01")
    env_file = Path(tempfile.mkdtemp()) / ".env"
    env_file.write_text(f"POSTGRES_USER={settings.postgres_user}\nPOSTGRES_PASSWORD={secrets.token_hex(8)}\n"
                        f"POSTGRES_DB={settings.postgres_db}\nPGADMIN_DEFAULT_EMAIL=admin@example.com\n"
                        f"PGADMIN_DEFAULT_PASSWORD={secrets.token_hex(8)}\n")
    compose_cmd = ["docker", "compose", "-p", "zoomcamp-week1", "--profile", "job", "-f", str(docker_dir / "docker-compose.yaml"),
                   "--env-file", str(env_file)]

    def compose_run(*args):
        done = subprocess.run([*compose_cmd, *args], capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, f"docker compose {' '.join(args)}: {done.stderr[-1500:]}"
        return done.stdout

    try:
        compose_run("build", "ingest")
        compose_run("up", "-d", "--wait", "pgdatabase", "pgadmin")
        job = compose_run("run", "--rm", "-v", f"{trips_file.parent}:/input:ro", "ingest",
                          "--table", "yellow_taxi_trips", "--file", f"/input/{trips_file.name}")
        landed = int(compose_run("exec", "-T", "pgdatabase", "psql", "-U", settings.postgres_user, "-d",
                                 settings.postgres_db, "-tAc", "SELECT count(*) FROM yellow_taxi_trips").strip())
        with gzip.open(trips_file, "rt") as lines:
            in_file = sum(1 for _ in lines) - 1  # minus the header
        set_aside = int(re.search(r"([\d,]+) malformed", job).group(1).replace(",", "")) if "malformed" in job else 0
        assert f"{landed:,} rows loaded into yellow_taxi_trips" in job and landed + set_aside == in_file
        for _ in range(60):  # pgAdmin takes a while to start its web server
            try:
                with urllib.request.urlopen("http://localhost:8080/misc/ping", timeout=5) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                time.sleep(2)
        else:
            raise AssertionError("pgAdmin did not answer on http://localhost:8080")
        print(job.strip(), f"| in PostgreSQL: {landed:,} rows | pgAdmin answers")
    finally:
        subprocess.run([*compose_cmd, "down", "-v"], capture_output=True)

# %% [markdown]
# ## Where containers show up in this course's world
#
# The image above is the pattern for every tool: the code and its dependencies in an image, the settings from the
# environment, the data mounted or fetched.
#
# | use case | how, with the course's files |
# | --- | --- |
# | **Airflow** | Airflow's official `docker-compose.yaml` (apache/airflow image) runs a scheduler, API server and workers; mount `week_2_ingestion/airflow/dags` (and weeks 3, 4, 5, 7's) at `/opt/airflow/dags` and `pip install` the course library into the image, as this Dockerfile does. The course runs the same DAGs without containers (`zoomcamp airflow standalone`). |
# | **dbt** | the `ghcr.io/dbt-labs/dbt-postgres` image with `week_4_analytics_engineering/taxi_rides_ny` mounted at `/usr/app` and the compose network, so `profiles.yml` reaches `pgdatabase:5432`: `docker run --network zoomcamp-week1_default -v $PWD/week_4_analytics_engineering/taxi_rides_ny:/usr/app ... build`. |
# | **Spark** | a Spark image (`apache/spark`) running `spark-submit week_5_batch/jobs/revenue_report.py`; on Kubernetes, `spark-submit --master k8s://...` starts driver and executors as containers of one image. |
# | **AWS Batch** (or Cloud Run jobs) | push this ingestion image to ECR (Artifact Registry on GCP); a job definition names the image and the command (`--table ... --file ...`) and the environment gives `DATABASE_URL`; a job queue runs it on demand or on a schedule, with no server to keep. |
#
# ## Summary
#
# - An image is built from a Dockerfile; a container runs it. Compose runs several on one network.
# - Inside the network, reach a service by its name and container port; `localhost` is the container itself.
# - Named volumes keep data; health checks order start-up; `.env` keeps secrets out of git.
# - With an engine, the image and the compose stack run for real and the rows land in the container's PostgreSQL;
#   the same pattern packages Airflow, dbt, Spark and batch jobs.
#
# **Next:** [06 · Terraform](06_terraform.ipynb)

# %%
from zoomcamp import course

course.record("week_1_basics/05_docker.ipynb")  # this notebook ran to the end
