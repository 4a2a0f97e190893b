# %% [markdown]
# # 03 · Spark SQL
#
# **What you will learn**
# - reading the lake's partitioned parquet (green and yellow trips, two months) into Spark;
# - temporary views (`createOrReplaceTempView`) and SQL on DataFrames, with parameters;
# - the **revenue report** per zone, month and service — the same report week 4's dbt project builds
#   (`dm_monthly_zone_revenue`) — written in Spark SQL, and checked to be equal to the dbt model's rows;
# - writing the report as parquet.
#
# **What you need running:** Java 17+. The next cell starts Spark in this notebook and writes the months to the
# lake folder Spark reads (no stack needed).

# %%
import pandas as pd

from zoomcamp import datasets, dbt
from zoomcamp import spark as zspark
from zoomcamp.course import scratch
from zoomcamp.exercises import check

spark = zspark.session("03_spark_sql")
MONTHS = ["2021-01", "2021-02"]
lake = zspark.local_lake()
for kind in ("green", "yellow"):
    for published in lake.ingest(kind, MONTHS, progress=False):  # idempotent: replaces exactly those months
        print(published)

# %% [markdown]
# ## The lake, as Spark sees it
#
# Week 2's lake is a bucket on the local GCS emulator. Spark reads `gs://` through the *GCS connector* jar: Dataproc
# has it built in, the pip `pyspark` does not, and it cannot be downloaded offline. So on this machine the lake Spark
# reads is a **folder** with the same layout and written by the same `Lake` code, `zspark.local_lake()`
# (`settings.lake_url` if that is a folder, else `<home>/lake-local`). On Dataproc the code below reads
# `gs://<bucket>/green` instead of the folder — nothing else changes (notebook 07).

# %%
green = zspark.read_trips(spark, "green", lake.uri("green"), months=MONTHS)
yellow = zspark.read_trips(spark, "yellow", lake.uri("yellow"), months=MONTHS)
zones = zspark.read_zones(spark)
print(lake.uri("green"), "->", sorted(p.rsplit("/green/", 1)[1] for p in lake.fs.glob(lake.path("green", "*", "*"))))
only_in = {"green": sorted(set(green.columns) - set(yellow.columns)),
           "yellow": sorted(set(yellow.columns) - set(green.columns))}
only_in

# %% [markdown]
# `year` and `month` are not in the files: Spark adds them from the folder names (hive partitioning), and
# `months=MONTHS` becomes a filter on them that prunes the other folders. The two services name their times
# differently (`lpep_` / `tpep_`) and each has columns of its own, so a union must pick and rename columns.
#
# ## Temporary views and SQL
#
# `createOrReplaceTempView(name)` gives a DataFrame a name that SQL can use, for the life of this session (nothing is
# copied or written; `createOrReplaceGlobalTempView` would share it with other sessions of the application, and the old
# `registerTempTable` is deprecated). `spark.sql(...)` returns a DataFrame: SQL and DataFrame code mix freely and go
# through the same optimizer.

# %%
green.createOrReplaceTempView("green_tripdata")
yellow.createOrReplaceTempView("yellow_tripdata")
zones.createOrReplaceTempView("zones")

per_service = spark.sql("""
    SELECT service_type, year, month, count(*) AS trips, round(sum(total_amount), 2) AS revenue
    FROM (
        SELECT 'Green' AS service_type, year, month, total_amount FROM green_tripdata
        UNION ALL
        SELECT 'Yellow' AS service_type, year, month, total_amount FROM yellow_tripdata
    ) trips
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
""").toPandas()

con = lake.duckdb()  # DuckDB on the same parquet files, as an independent check
duck = con.execute(f"""
    SELECT 'Green' AS service_type, year, month, count(*) AS trips, round(sum(total_amount), 2) AS revenue
    FROM {lake.read_parquet_sql("green")} WHERE year = 2021 AND month IN (1, 2) GROUP BY ALL
    UNION ALL
    SELECT 'Yellow', year, month, count(*), round(sum(total_amount), 2) FROM {lake.read_parquet_sql("yellow")}
    WHERE year = 2021 AND month IN (1, 2) GROUP BY ALL
    ORDER BY 1, 2, 3
""").df()
assert per_service["trips"].tolist() == duck["trips"].tolist()
assert (per_service["revenue"] - duck["revenue"]).abs().max() < 0.01
per_service

# %% [markdown]
# Values go into SQL as **parameters**, never pasted into the text (`:name` markers and `args=`), and a DataFrame can be
# referenced without a view with `{name}` and a keyword argument:

# %%
busy = spark.sql("""
    SELECT PULocationID, count(*) AS trips FROM {trips}
    WHERE month = :month AND passenger_count >= :passengers
    GROUP BY 1 ORDER BY trips DESC, PULocationID LIMIT 3
""", args={"month": 2, "passengers": 2}, trips=yellow).toPandas()
pandas_yellow = pd.concat(datasets.read_csv(datasets.trip_file("yellow", m)).assign(month=int(m[-2:])) for m in MONTHS)
expected = (pandas_yellow[(pandas_yellow["month"] == 2) & (pandas_yellow["passenger_count"] >= 2)]
            .groupby("PULocationID").size().reset_index(name="trips")
            .sort_values(["trips", "PULocationID"], ascending=[False, True]).head(3))
assert busy["trips"].tolist() == expected["trips"].tolist()
busy

# %% [markdown]
# ## The revenue report, as in week 4
#
# Week 4's dbt project builds the data mart `dm_monthly_zone_revenue` from the same trips. Its rules, spread over the
# staging models, `fact_trips` and the mart:
#
# - staging: trips without a vendor are dropped; a trip recorded twice (same vendor and pickup time) is kept once (the
#   earliest dropoff, then the lowest amount);
# - `fact_trips`: green and yellow stacked with their `service_type`, and only trips whose pickup **and** dropoff zones
#   are known (borough not `Unknown`);
# - the mart: per pickup zone, pickup month and service, the sums of each fare component, the trips, the average
#   passengers and distance.
#
# The mart's SQL:

# %%
print(dbt.model_sql("dm_monthly_zone_revenue"))

# %% [markdown]
# The same in Spark SQL is `zspark.REVENUE_SQL`, used through `zspark.revenue_report(green, yellow, zones)` — by this
# notebook, by the spark-submit job of notebook 07 and by the Airflow DAG. One query: the staging rules as
# `row_number()` windows in subqueries, the union, the zone joins, the aggregation:

# %%
print(zspark.REVENUE_SQL)

# %%
report = zspark.revenue_report(green, yellow, zones)
report.createOrReplaceTempView("monthly_zone_revenue")
spark_rows = report.toPandas()
print(f"{len(spark_rows)} rows: {spark_rows['revenue_month'].nunique()} pickup months, "
      f"{spark_rows['total_monthly_trips'].sum():,} trips")
spark_rows.sort_values("revenue_monthly_total_amount", ascending=False).head()

# %% [markdown]
# More than the two months: the files carry dirty rows with pickups in other months (December 2020, a mistyped 2008),
# and the report, like the dbt model, groups them by their own month. Those are the rows a monthly pipeline would drop
# (the DAG of notebook 08 reports one month per run: `revenue_report(..., month="2021-01")`).
#
# ## Equal to the dbt model
#
# Build the dbt mart on DuckDB from the same files (week 4's project, run from Python by `zoomcamp.dbt`), then compare
# row by row: the same zones, months and services, the same trip counts, the same amounts to the cent.

# %%
dbt.load_raw("duckdb", MONTHS, kinds=["green", "yellow"])
build = dbt.run("build", "--select", "+dm_monthly_zone_revenue", "--full-refresh", target="duckdb",
                target_path=scratch(5, "dbt_target"))
assert build.success, build.failed()
mart = dbt.query("SELECT * FROM dbt_dev.dm_monthly_zone_revenue", target="duckdb")
print(build)

key = ["revenue_locationid", "revenue_month", "service_type"]
both = spark_rows.assign(revenue_month=pd.to_datetime(spark_rows["revenue_month"])).merge(
    mart.assign(revenue_month=pd.to_datetime(mart["revenue_month"])), on=key, how="outer",
    suffixes=("_spark", "_dbt"), indicator=True)
assert (both["_merge"] == "both").all() and len(both) == len(spark_rows) == len(mart)
assert (both["total_monthly_trips_spark"] == both["total_monthly_trips_dbt"]).all()
assert (both["revenue_zone_spark"] == both["revenue_zone_dbt"]).all()
amounts = [c for c in zspark.REPORT_COLUMNS if c.startswith(("revenue_monthly", "avg_"))]
differences = pd.Series({c: (both[f"{c}_spark"] - both[f"{c}_dbt"].astype(float)).abs().max() for c in amounts})
assert (differences.fillna(0) < 1e-6).all()
differences.rename("largest difference").to_frame()

# %% [markdown]
# Equal. (The ehail fee is empty in every green row, so its sum is NULL in both, shown as NaN.) `tests/spark/test_spark.py`
# checks the same on every test run. Two engines, one result: the dbt model for the warehouse, the Spark job for the
# lake.
#
# ## Writing the report
#
# A report is small: `coalesce(1)` writes one file. Write modes: `overwrite` replaces the folder (a re-run gives the same
# result), `append` adds files (a re-run duplicates), `errorifexists` (the default) refuses.

# %%
output = scratch(5, "report")
report.coalesce(1).write.mode("overwrite").parquet(str(output))
written = pd.read_parquet(output)
assert len(list(output.glob("part-*.parquet"))) == 1 and len(written) == len(spark_rows)
print(f"{output}: {len(written)} rows")

# %% [markdown]
# ## Exercise 3
#
# With Spark SQL on the view `monthly_zone_revenue`, find for each of the two months (`2021-01-01`, `2021-02-01`) the
# **Green** pickup zone with the highest `revenue_monthly_total_amount`. Return a pandas DataFrame with the columns
# `revenue_month`, `revenue_zone`, `revenue` (rounded to 2 decimals), ordered by month.

# %%
my_answer = None  # e.g. spark.sql("""...""").toPandas()

# %%
green_mart = mart[(mart["service_type"] == "Green") & mart["revenue_month"].astype(str).isin(["2021-01-01", "2021-02-01"])]
top = (green_mart.sort_values("revenue_monthly_total_amount", ascending=False).groupby("revenue_month").head(1)
       .sort_values("revenue_month"))
expected = pd.DataFrame({"revenue_month": top["revenue_month"].astype(str).to_numpy(),
                         "revenue_zone": top["revenue_zone"].to_numpy(),
                         "revenue": top["revenue_monthly_total_amount"].astype(float).round(2).to_numpy()})
if my_answer is not None:
    my_answer = my_answer.assign(**{my_answer.columns[0]: my_answer.iloc[:, 0].astype(str)})
check(my_answer, expected)

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = spark.sql("""
    SELECT revenue_month, revenue_zone, round(revenue_monthly_total_amount, 2) AS revenue
    FROM (
        SELECT *, row_number() OVER (PARTITION BY revenue_month ORDER BY revenue_monthly_total_amount DESC) AS rn
        FROM monthly_zone_revenue
        WHERE service_type = 'Green' AND revenue_month IN (DATE'2021-01-01', DATE'2021-02-01')
    ) ranked
    WHERE rn = 1
    ORDER BY revenue_month
""").toPandas()
solution["revenue_month"] = solution["revenue_month"].astype(str)
assert check(solution, expected)
solution

# %%
spark.stop()

# %% [markdown]
# ## Summary
#
# - Spark reads the lake's hive partitions as columns and prunes folders on them; here from a local folder, on Dataproc
#   from `gs://` with the same code.
# - `createOrReplaceTempView` names a DataFrame for SQL; `spark.sql` returns DataFrames; pass values as parameters.
# - The revenue report in Spark SQL equals week 4's dbt mart on the same data, row for row.
# - `overwrite` makes writing a report idempotent; `coalesce(1)` writes one file.
#
# **Next:** [04 · Internals: plans, shuffles and joins](04_internals.ipynb)

# %%
from zoomcamp import course

course.record("week_5_batch/03_spark_sql.ipynb")  # this notebook ran to the end
