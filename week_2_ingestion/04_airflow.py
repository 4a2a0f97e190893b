# %% [markdown]
# # 04 · Orchestration with Airflow
#
# **What you will learn**
# - what an orchestrator adds to a script: schedules, dependencies, retries, history, backfills;
# - Airflow's vocabulary: DAG, task, operator, scheduler, executor, logical date, data interval;
# - week 2's pipeline as a DAG (`airflow/dags/lake_ingest.py`), run for three months — a backfill;
# - why every task must be idempotent, and how templating (`{{ ds }}`) makes one DAG serve every month.
#
# **What you need running:** the local stack (for the lake). Airflow itself needs no server here: each run is
# `dag.test()` in a child process with a SQLite metadata database under the course home.

# %%

import pandas as pd

from zoomcamp import orchestration, stack
from zoomcamp.exercises import check
from zoomcamp.lake import Lake

stack.up()
lake = Lake()

# %% [markdown]
# ## From a script to a DAG
#
# `lake.ingest("yellow", "2021-01")` works, but in production someone has to run it every month, in the right order
# after the file is published, retry when the network fails, remember which months succeeded, and re-run last March
# when a bug is fixed. That is an orchestrator's job.
#
# - A **DAG** (directed acyclic graph) is a pipeline: **tasks** and the dependencies between them.
# - An **operator** is a kind of task (run Python, run Bash, load into BigQuery...); TaskFlow's `@task` turns a Python
#   function into one.
# - The **scheduler** creates a **DAG run** for each schedule interval; the **executor** runs its tasks (locally, in
#   Celery workers, in Kubernetes pods).
# - Each run has a **logical date** (`{{ ds }}`, e.g. `2021-03-01`): the period it processes, not the moment it runs.
#   That is what makes a run for March 2021 possible in 2026.
#
# Here is the DAG file:

# %%
dag_file = orchestration.find_dag("lake_ingest")
print(dag_file.read_text())

# %% [markdown]
# The tasks only call the course library (`Lake`'s fetch, convert and publish from notebook 02,
# [`lake.py`](../shared/zoomcamp/lake.py)): the DAG says *what runs when*, the library says *how*. Library imports are
# inside the tasks because the scheduler parses DAG files every few seconds and must not pay for them.
#
# Airflow parses the file and sees this graph:

# %%
shape = orchestration.describe_dag("lake_ingest")
assert shape["schedule"] == "@monthly" and len(shape["tasks"]) == 8
assert all(task["retries"] >= 1 for task in shape["tasks"].values())
orchestration.plot_dag(shape);

# %% [markdown]
# ## A backfill: three months
#
# [`orchestration.run_dag`](../shared/zoomcamp/orchestration.py) runs the DAG once per logical date with `dag.test()`:
# every task, in dependency order, with the real code and the real lake. This is how DAGs are tested, and how a
# backfill is done on one machine. In a terminal:
# `zoomcamp airflow test lake_ingest --months 2021-01..2021-03`.
#
# Start from an empty green and yellow lake so you can see the DAG fill it.

# %%
for kind in ("yellow", "green"):
    lake.remove(kind)
assert lake.check(["yellow", "green"], ["2021-01..2021-03"])[0].state == "missing"

runs = orchestration.run_dag("lake_ingest", ["2021-01-01", "2021-02-01", "2021-03-01"])
pd.DataFrame([{"logical date": r.logical_date, "state": r.state, **r.tasks} for r in runs]).set_index("logical date").T

# %%
status = pd.DataFrame([vars(s) for s in lake.check(["yellow", "green"], ["2021-01..2021-03"])])
assert (status["state"] == "present").all()
status

# %% [markdown]
# ## Idempotence and retries
#
# `retries=2` means a failed task runs again (after `retry_delay`) before the run fails. A retry, a re-run of a month
# or a backfill over months already done must not duplicate data — so each task either produces the same result or
# replaces its own output: the download is cached, the parquet file is rebuilt, the upload replaces exactly the month's
# partition (atomically) and the catalog entry is rewritten. Run February again and count:

# %%
before = {kind: lake.dataset(kind).count_rows() for kind in ("yellow", "green")}
orchestration.run_dag("lake_ingest", ["2021-02-01"])
after = {kind: lake.dataset(kind).count_rows() for kind in ("yellow", "green")}
assert before == after and lake.leftovers() == []
after

# %% [markdown]
# ## Templating
#
# `MONTH = "{{ ds[:7] }}"` in the DAG file is a Jinja template: Airflow renders it per run (`2021-03-01` → `2021-03`)
# before calling the task. Other variables: `{{ data_interval_start }}`, `{{ data_interval_end }}`,
# `{{ logical_date.strftime('%Y/%m') }}`, `{{ params.x }}`. Templates are rendered only in an operator's templated
# fields (for `@task`, its arguments) — not in ordinary Python at the top of the file.
#
# ## The UI, and the cloud
#
# `zoomcamp airflow standalone` starts the scheduler, API server and UI on <http://127.0.0.1:8080> (the admin password
# is printed on first start). The DAG appears paused; unpause it and trigger a run, or look at the runs above in the
# grid view. In the cloud the same DAG file runs on Cloud Composer (GCP's managed Airflow), MWAA (AWS) or Astronomer;
# with `backend = "gcp"` the same tasks write to your real bucket.
#
# ## Exercise 5
#
# The `register_green` task wrote `_catalog/green.json` into the lake. Read it (`lake.fs.open(lake.path("_catalog",
# "green.json"))` and `json.load`) and answer: how many rows does the catalog list for the partition
# `year=2021/month=02`?

# %%
my_answer = None  # a number of rows

# %%
import pyarrow.dataset as ds

check(my_answer, lake.dataset("green").count_rows(filter=(ds.field("year") == 2021) & (ds.field("month") == 2)))

# %% jupyter={"source_hidden": true} tags=["solution"]
import json

with lake.fs.open(lake.path("_catalog", "green.json")) as f:
    catalog = json.load(f)
solution = next(p["rows"] for p in catalog["partitions"] if p["partition"] == "year=2021/month=02")
assert check(solution, lake.dataset("green").count_rows(filter=(ds.field("year") == 2021) & (ds.field("month") == 2)))

# %% [markdown]
# ## Summary
#
# - An orchestrator runs pipelines on a schedule, in dependency order, with retries and a history of runs.
# - A DAG run processes its logical date's period: templating (`{{ ds }}`) makes one DAG serve every month, and a
#   backfill is just runs for past dates.
# - Idempotent tasks make retries, re-runs and backfills safe.
# - Keep logic in a library and the DAG thin: the same steps run from the CLI, a notebook, or Airflow.
#
# **Next:** [05 · Extracting from an API, by hand](05_api_by_hand.ipynb)

# %%
from zoomcamp import course

course.record("week_2_ingestion/04_airflow.ipynb")  # this notebook ran to the end
