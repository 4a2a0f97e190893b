# %% [markdown]
# # 08 · Spark on Airflow
#
# **What you will learn**
# - the week's batch pipeline as an Airflow DAG: trips to the lake, the Spark revenue job, the warehouse;
# - operators vs TaskFlow (`@task`): two ways to write tasks, and when to use which;
# - scheduling: a monthly schedule, logical dates and `{{ ds }}`, catchup, and a **backfill** of two months;
# - idempotent tasks: a re-run replaces its month, it never adds to it;
# - the same pipeline in the cloud: Spark on Dataproc and BigQuery, from Airflow.
#
# **What you need running:** the local stack (PostgreSQL is the warehouse here); the next cell starts it. Airflow needs
# no server: each DAG run is `dag.test()` in a child process with a SQLite metadata database under the course home
# (week 2, notebook 04). Java 17+ for Spark.

# %%
import pandas as pd

from zoomcamp import datasets, db, orchestration, stack
from zoomcamp import spark as zspark
from zoomcamp.exercises import check

stack.up()
DAG_ID = "spark_revenue_report"
print(orchestration.find_dag(DAG_ID).read_text())

# %% [markdown]
# ## The DAG
#
# Three steps, each a task; the DAG file only wires them together and calls the course library, so the same steps run
# from a notebook, the CLI or here:
#
# - `to_lake_green`, `to_lake_yellow` put the month's trips in the lake folder Spark reads (in parallel: neither needs
#   the other);
# - `revenue_report` runs `spark-submit` of the job from notebook 07 for the month, on `settings.spark_master`;
# - `load_warehouse` loads the month's report into `reports.monthly_zone_revenue` in PostgreSQL, replacing the month.

# %%
shape = orchestration.describe_dag(DAG_ID)
assert shape["schedule"] == "@monthly" and shape["catchup"] is False and "spark" in shape["tags"]
assert len(shape["tasks"]) == 4 and all(task["retries"] >= 1 for task in shape["tasks"].values())
assert shape["tasks"]["revenue_report"]["downstream"] == ["load_warehouse"]
orchestration.plot_dag(shape);

# %% [markdown]
# ## Operators vs TaskFlow
#
# An **operator** is a class for one kind of task: `BashOperator` runs a command, `SparkSubmitOperator` runs
# spark-submit, `DataprocSubmitJobOperator` submits to Dataproc, `BigQueryInsertJobOperator` runs a query. You configure
# it with arguments, some of them **templated** (rendered per run with Jinja). The classic way to write the Spark step:
#
# ```python
# from airflow.providers.standard.operators.bash import BashOperator
#
# revenue_report = BashOperator(
#     task_id="revenue_report",
#     bash_command=(
#         "spark-submit --master {{ var.value.spark_master }} week_5_batch/jobs/revenue_report.py "
#         "--green {{ params.lake }}/green --yellow {{ params.lake }}/yellow --zones {{ params.zones }} "
#         "--month {{ ds[:7] }} --output {{ params.reports }}/month={{ ds[:7] }}"
#     ),
#     params={"lake": "...", "zones": "...", "reports": "..."},
# )
# to_lake_green >> revenue_report >> load_warehouse   # dependencies with >>
# ```
#
# **TaskFlow** (`@task`) turns a Python function into a task: its arguments are templated, its return value goes to
# the next task through XCom, and calling one task with another's result sets the dependency. This DAG uses TaskFlow
# because every step is a call to the course library: the paths and settings come from the library, not from strings
# in the DAG. Use operators for what they are good at — an external system with a ready-made operator (Dataproc,
# BigQuery, Kubernetes pods) — and TaskFlow for Python glue. Both mix in one DAG.
#
# ## Scheduling and backfills
#
# `schedule="@monthly"` with `start_date=2021-01-01`: one run per month, each with a **logical date** (`{{ ds }}`,
# e.g. `2021-02-01`) that names the month it processes — the data interval `[2021-02-01, 2021-03-01)`, run after it
# ends. `catchup=False`: when the DAG is switched on, Airflow does not create runs for every month since 2021 at once;
# past months are run on purpose, as a **backfill** (`airflow backfill create --dag-id spark_revenue_report
# --from-date 2021-01-01 --to-date 2021-02-28`, or here [`orchestration.run_dag`](../shared/zoomcamp/orchestration.py)).
#
# Backfill January and February: two runs of the same code with two logical dates.

# %%
runs = orchestration.run_dag(DAG_ID, ["2021-01-01", "2021-02-01"])
assert [r.state for r in runs] == ["success", "success"]
pd.DataFrame([{"logical date": r.logical_date, "state": r.state, **r.tasks} for r in runs]).set_index("logical date").T

# %%
warehouse = db.query(f"""
    SELECT revenue_month, service_type, count(*) AS zones, sum(total_monthly_trips) AS trips,
           round(sum(revenue_monthly_total_amount)::numeric, 2) AS revenue
    FROM {zspark.WAREHOUSE_TABLE}
    WHERE revenue_month IN ('2021-01-01', '2021-02-01')
    GROUP BY 1, 2 ORDER BY 1, 2
""")
warehouse

# %% [markdown]
# Check the warehouse against DuckDB, computing the report independently from the same lake files: the same rules
# (known vendor, one trip per vendor and pickup time, both zones known), and a month's run keeps the pickups of its
# month from its month's files.

# %%
lake = zspark.local_lake()
con = lake.duckdb()
zones_csv = datasets.zones_file()


def staged(kind, prefix, service):
    return f"""
        SELECT '{service}' AS service_type, PULocationID, DOLocationID, {prefix}_pickup_datetime AS pickup,
               total_amount, year, month
        FROM {lake.read_parquet_sql(kind)}
        WHERE VendorID IS NOT NULL AND year = 2021 AND month IN (1, 2)
        QUALIFY row_number() OVER (PARTITION BY VendorID, {prefix}_pickup_datetime
                                   ORDER BY {prefix}_dropoff_datetime, total_amount, trip_distance) = 1"""


duck = con.execute(f"""
    WITH trips AS ({staged("green", "lpep", "Green")} UNION ALL {staged("yellow", "tpep", "Yellow")}),
    zones AS (SELECT * FROM read_csv('{zones_csv}', header = true) WHERE Borough != 'Unknown')
    SELECT CAST(date_trunc('month', pickup) AS DATE) AS revenue_month, service_type,
           count(DISTINCT PULocationID) AS zones, count(*) AS trips, round(sum(total_amount), 2) AS revenue
    FROM trips
    JOIN zones AS pz ON trips.PULocationID = pz.LocationID
    JOIN zones AS dz ON trips.DOLocationID = dz.LocationID
    WHERE year(pickup) = year AND month(pickup) = month
    GROUP BY 1, 2 ORDER BY 1, 2
""").df()
assert warehouse["trips"].astype(int).tolist() == duck["trips"].tolist()
assert warehouse["zones"].tolist() == duck["zones"].tolist()
assert (warehouse["revenue"].astype(float) - duck["revenue"]).abs().max() < 0.01
duck


# %% [markdown]
# ## Idempotence: re-running a month
#
# A retry, a re-run after a bug fix, or a backfill over months already done must not duplicate anything. Each task
# replaces its own output: `to_lake` replaces the month's partition (week 2), the Spark job overwrites the month's
# report folder, and the load deletes the month's rows and inserts the new ones in one transaction. Do by hand what a
# retry of February's `load_warehouse` does — load the same report again — and count:

# %%
def february():
    return db.query(f"SELECT count(*) AS n, sum(total_monthly_trips) AS trips FROM {zspark.WAREHOUSE_TABLE} "
                    "WHERE revenue_month = '2021-02-01'")


before = february()
for _ in range(2):
    zspark.to_warehouse(zspark.report_path("2021-02"), "2021-02")  # the task's own function
after = february()
assert before.equals(after) and before.loc[0, "trips"] == duck.loc[duck["revenue_month"].astype(str) == "2021-02-01", "trips"].sum()
pd.concat({"before": before, "after loading twice more": after})

# %% [markdown]
# The whole DAG run for a month is just as repeatable (`orchestration.run_dag(DAG_ID, ["2021-02-01"])` again gives the
# same rows; `tests/spark/test_spark.py` runs it). Contrast with an `append` load or an `INSERT` without the `DELETE`: every
# retry would add the month once more.

# %% [markdown]
# ## In the cloud: Dataproc and BigQuery from Airflow
#
# On Cloud Composer (GCP's managed Airflow) the same DAG's steps would use the Google provider's operators, which submit
# work to managed services instead of running it on the Airflow worker:
#
# ```python
# from airflow.providers.google.cloud.operators.dataproc import DataprocSubmitJobOperator
# from airflow.providers.google.cloud.operators.bigquery import BigQueryInsertJobOperator
#
# revenue_report = DataprocSubmitJobOperator(
#     task_id="revenue_report", region="europe-west1", project_id="{{ var.value.gcp_project }}",
#     job={"placement": {"cluster_name": "zoomcamp"},
#          "pyspark_job": {"main_python_file_uri": "gs://BUCKET/code/revenue_report.py",
#                          "python_file_uris": ["gs://BUCKET/code/zoomcamp.zip"],
#                          "args": ["--green", "gs://BUCKET/green", "--yellow", "gs://BUCKET/yellow",
#                                   "--zones", "gs://BUCKET/zones/taxi_zone_lookup.csv", "--month", "{{ ds[:7] }}",
#                                   "--output", "gs://BUCKET/reports/monthly_zone_revenue/month={{ ds[:7] }}"]}},
# )
# load_warehouse = BigQueryInsertJobOperator(   # replace the month's partition: idempotent, like the local load
#     task_id="load_warehouse",
#     configuration={"load": {
#         "sourceUris": ["gs://BUCKET/reports/monthly_zone_revenue/month={{ ds[:7] }}/*.parquet"],
#         "sourceFormat": "PARQUET", "writeDisposition": "WRITE_TRUNCATE",
#         "destinationTable": {"projectId": "{{ var.value.gcp_project }}", "datasetId": "trips_data_all",
#                              "tableId": "monthly_zone_revenue${{ ds_nodash[:6] }}"},
#         "timePartitioning": {"type": "MONTH", "field": "revenue_month"}}},
# )
# ```
#
# (The `$YYYYMM` suffix names one partition of the table: `WRITE_TRUNCATE` then replaces that month only.) The Google
# provider is not installed in the course's offline setup, so this is code to read, not to run; locally,
# `zspark.to_warehouse` is the one function to switch when the course's BigQuery stand-in is available.
#
# ## Exercise 8
#
# From the warehouse table (`db.query`), compute the change in the **Yellow** service's total revenue
# (`revenue_monthly_total_amount`) from January to February 2021: February minus January, rounded to 2 decimals.

# %%
my_answer = None  # e.g. db.query("SELECT ...").iloc[0, 0]

# %%
yellow = duck[duck["service_type"] == "Yellow"].set_index("revenue_month")["revenue"]
check(my_answer, round(float(yellow.iloc[1] - yellow.iloc[0]), 2))

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = float(db.query(f"""
    SELECT sum(CASE WHEN revenue_month = '2021-02-01' THEN revenue_monthly_total_amount ELSE 0 END)
         - sum(CASE WHEN revenue_month = '2021-01-01' THEN revenue_monthly_total_amount ELSE 0 END) AS change
    FROM {zspark.WAREHOUSE_TABLE}
    WHERE service_type = 'Yellow'
""").iloc[0, 0])
solution = round(solution, 2)
assert check(solution, round(float(yellow.iloc[1] - yellow.iloc[0]), 2))
solution

# %% [markdown]
# ## Summary
#
# - The DAG is thin: tasks call the library; lake → spark-submit → warehouse, monthly, `{{ ds }}` naming the month.
# - Operators wrap external systems; TaskFlow `@task` is Python with XCom and dependencies for free; mix them.
# - `catchup=False` plus explicit backfills; every task replaces its own output, so re-runs and retries are safe.
# - In the cloud the same steps are `DataprocSubmitJobOperator` and a BigQuery load with `WRITE_TRUNCATE` on the
#   month's partition.
#
# `zoomcamp airflow standalone` starts the Airflow UI on http://127.0.0.1:8080 with every week's DAGs, to watch runs
# in the grid view.
#
# **Next:** week 6, [streaming](../week_6_streaming/README.md).

# %%
from zoomcamp import course

course.record("week_5_batch/08_airflow.ipynb")  # this notebook ran to the end
