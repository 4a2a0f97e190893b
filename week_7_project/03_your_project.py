# %% [markdown]
# # 03 · Your project: the template, the rubric and the self-check
#
# **What you will learn**
# - how the capstone is graded: the peer-review rubric, criterion by criterion;
# - starting from `week_7_project/template/`, and what `zoomcamp project check` can verify for you before reviewers do
#   (the README's sections, Terraform that parses, DAGs that import, a dbt project that parses, partitioning and
#   clustering, a dashboard with two tiles);
# - running the reference project on GCP instead: what to configure, checked without connecting.
#
# **What you need running:** nothing: the check imports your DAGs in Airflow and parses your dbt project offline, in
# throw-away folders (the project's own files are never written to).

# %%
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from zoomcamp import project, rubric
from zoomcamp.exercises import check
from zoomcamp.settings import get_settings, project_root

WEEK = project_root() / "week_7_project"
mine = Path(tempfile.mkdtemp(prefix="my-project-")) / "my_project"
shutil.copytree(WEEK / "template", mine)
sorted(str(p.relative_to(mine)) for p in mine.rglob("*") if p.is_file())

# %% [markdown]
# ## The rubric
#
# Peers grade each project on seven criteria (the week's README has the full text):

# %%
pd.DataFrame([(name, top, text) for name, (top, text) in rubric.RUBRIC.items()],
             columns=["criterion", "max points", "what earns them"])

# %% [markdown]
# ## Checking the template
#
# `project.check(folder)` — `zoomcamp project check FOLDER` in a terminal, its rules in
# [`shared/zoomcamp/rubric.py`](../shared/zoomcamp/rubric.py) — scores what a machine can check. The
# template is a skeleton: its parts parse and import, and every part still has `TODO` markers, which halve that
# criterion's points until they are gone.

# %%
start = project.check(mine)
assert start.total < start.max_total and start.points("Data warehouse") == 0
assert all(c.todo for c in start.criteria)
start.table()

# %% [markdown]
# Each row says what was found and what to do. The template has no warehouse table yet (its Terraform only has it in a
# comment), so that row scores nothing; the DAG imports in Airflow and has four tasks, but its tasks are still stubs.
#
# ## Filling in the README
#
# Write the problem description and the instructions, and the two README criteria go to full marks. (Points from a
# machine are a floor: reviewers still judge whether the description is clear and whether the commands work.)

# %%
(mine / "README.md").write_text('''# Taxi revenue by borough

## Problem description

New York's Taxi and Limousine Commission publishes every green and yellow cab trip, month by month, as files of
millions of rows. Dispatchers and city planners want to know how revenue moves day by day and which boroughs earn
it, without opening a single file. This project loads the trips into a warehouse every month, models them with dbt
and shows two tiles: revenue per day by service, and the revenue share of each borough.

## How to run

```bash
cd terraform && terraform init && terraform apply -var project=my-project
airflow dags backfill pipeline -s 2021-01-01 -e 2021-03-01
streamlit run dashboard/app.py
```
''')
filled = project.check(mine)
assert filled.points("Problem description") == 2 and filled.points("Reproducibility") == 4
filled.table().loc[[0, 6], ["name", "points", "max_points", "found"]]

# %% [markdown]
# ## What a broken part looks like
#
# A DAG that does not import is a DAG the scheduler never runs, and reviewers see an import error in the UI. The check
# imports DAG files with Airflow's own `DagBag`, so it catches the same errors:

# %%
dag_file = mine / "airflow" / "dags" / "pipeline.py"
good = dag_file.read_text()
dag_file.write_text(good.replace("from airflow.sdk import dag, task", "from airflow.sdk import dag, task\nimport pandaz"))
broken = project.check(mine)
dag_file.write_text(good)
row = broken.table().set_index("name").loc["Data ingestion (batch or stream)"]
assert row["points"] == 0 and "pandaz" in row["todo"]
row

# %% [markdown]
# ## The reference project, checked
#
# The reference project (this week's folder, with week 4's dbt project) scores every checkable point:

# %%
reference = project.check(WEEK)
assert reference.total == reference.max_total
reference.table()

# %% [markdown]
# ## Exercise 4
#
# Give your copy a warehouse table that is partitioned and clustered: add a `google_bigquery_table` resource with a
# `time_partitioning` block and a `clustering` list to `mine / "terraform" / "main.tf"` (the comment in that file shows
# one), check again, and answer with the points of the "Data warehouse" row.

# %%
my_answer = None  # project.check(mine).points("Data warehouse"), after your change

# %%
check(my_answer, rubric.RUBRIC["Data warehouse"][0])  # full marks on the checkable part

# %% jupyter={"source_hidden": true} tags=["solution"]
main_tf = mine / "terraform" / "main.tf"
main_tf.write_text(main_tf.read_text() + '''
resource "google_bigquery_table" "trips" {
  dataset_id = google_bigquery_dataset.raw.dataset_id
  table_id   = "trips"
  time_partitioning {
    type  = "DAY"
    field = "pickup_datetime"
  }
  clustering = ["PULocationID"]
}
''')
solution = project.check(mine).points("Data warehouse")
assert check(solution, rubric.RUBRIC["Data warehouse"][0])

# %% [markdown]
# ## On GCP, by configuration
#
# The reference project's steps run on GCP when the settings say so: `backend = "gcp"` with a project and a bucket in
# `zoomcamp.toml`, the bucket and datasets created by `week_7_project/terraform/` (`terraform apply -var
# project=...`), and dbt's `prod` target, which reads the same settings (`gcp_project`, `dbt_dataset`) and
# Application Default Credentials (`gcloud auth application-default login`; no key file). `project.plan` shows where
# each step would write; `project.check_gcp` validates the configuration without connecting and names the first thing
# missing — here, offline, dbt-bigquery is not installed.

# %%
gcp = get_settings().replace(backend="gcp", gcp_project="my-project", gcs_bucket="my-project-zoomcamp-lake")
plan = project.plan(gcp)
assert plan.loc[plan["step"] == "lake", "where"].iloc[0].startswith("gs://my-project-zoomcamp-lake")
try:
    problem = f"complete: dbt builds into {project.check_gcp(gcp)['dataset']}"
except project.ProjectError as exc:
    problem = str(exc)
assert problem.startswith("complete") or "dbt-bigquery" in problem
print(problem)
plan

# %% [markdown]
# ## Summary
#
# - The rubric has seven criteria; `zoomcamp project check FOLDER` scores the parts a machine can check and says what
#   to do for the rest: it imports your DAGs in Airflow, parses your Terraform and dbt project, looks for partitioning
#   and clustering, counts the dashboard's tiles, reads your README's sections — and halves a criterion while `TODO`
#   markers remain.
# - Start from `week_7_project/template/`: every part is there as a skeleton that already parses and imports.
# - The reference project scores every checkable point; on GCP the same steps run by configuration, validated by
#   `project.check_gcp` before anything is written.
#
# **Next:** the project brief and the peer-review rubric in this week's [README](README.md) — then build your own.

# %%
from zoomcamp import course

course.record("week_7_project/03_your_project.ipynb")  # this notebook ran to the end
