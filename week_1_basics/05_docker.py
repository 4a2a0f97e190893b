# %% [markdown]
# # 05 · Docker: images, containers, networks, volumes
#
# **What you will learn**
# - what an image and a container are, and why the course's pipeline ships as one;
# - how `docker-compose.yaml` wires PostgreSQL, pgAdmin and the ingestion job together: networks, ports, volumes;
# - the classic mistake: `localhost` inside a container is the container itself, not your laptop.
#
# **What you need running:** nothing. This notebook reads and checks the week's Docker files; it does not need a
# Docker engine (the course's CI has none). With Docker installed, the commands shown in the text run them for real.

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
# With Docker: `cp .env.example .env`, `docker compose up -d pgdatabase pgadmin`, then
# `docker compose run --rm ingest --table yellow_taxi_trips --file /data/yellow_tripdata_2021-01.csv.gz`
# (the compose file mounts the course's sample folder at `/data`). pgAdmin is on http://localhost:8080.
#
# ## Summary
#
# - An image is built from a Dockerfile; a container runs it. Compose runs several on one network.
# - Inside the network, reach a service by its name and container port; `localhost` is the container itself.
# - Named volumes keep data; health checks order start-up; `.env` keeps secrets out of git.
#
# **Next:** [06 · Terraform](06_terraform.ipynb)

# %%
from zoomcamp import course

course.record("week_1_basics/05_docker.ipynb")  # this notebook ran to the end
