# %% [markdown]
# # 04 · Macros, Jinja and packages
#
# **What you will learn**
# - Jinja in dbt: expressions `{{ }}`, statements `{% %}`, variables (`var`), and the built-in `target`, `this`;
# - writing macros: the payment type description and the trip duration, and what they compile to;
# - cross-database SQL: dbt's own `dbt.datediff`, and a macro of our own dispatched per warehouse (`adapter.dispatch`);
# - packages: the local `taxi_utils` package installed offline with `dbt deps`, and how a hub package is added.
#
# **What you need running:** the local stack; the next cell starts it, loads the raw trips and builds the project.

# %%
from zoomcamp import datasets, dbt, stack
from zoomcamp.exercises import check

stack.up()
TARGET = "dev"
dbt.load_raw(TARGET)
assert dbt.run("build", "--full-refresh", target=TARGET).success

# %% [markdown]
# ## A macro writes SQL
#
# A macro is a Jinja function that returns text. `get_payment_type_description` returns a `CASE` expression, so the
# mapping from codes to words is written once and used by both staging models:

# %%
print((dbt.PROJECT_DIR / "macros" / "get_payment_type_description.sql").read_text())

# %% [markdown]
# Checked against pandas: the descriptions in `stg_yellow_tripdata` are those of the payment types file, for the same
# trips (deduplicated the same way), with "Not recorded" where the file has no code.

# %%
yellow = datasets.read_csv(datasets.trip_file("yellow", "2021-01"))
yellow = (yellow.sort_values(["VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "total_amount",
                              "trip_distance"]).drop_duplicates(["VendorID", "tpep_pickup_datetime"]))
names = datasets.read_csv(datasets.payment_types_file()).set_index("payment_type")["description"]
expected = yellow["payment_type"].map(names).fillna("Not recorded").value_counts().sort_index()
described = dbt.query("SELECT payment_type_description AS description, count(*) AS trips FROM dbt_dev.stg_yellow_tripdata "
                      "GROUP BY 1 ORDER BY 1", TARGET)
assert described["trips"].tolist() == expected.tolist() and described["description"].tolist() == expected.index.tolist()
described

# %% [markdown]
# ## Cross-database SQL: dbt.datediff
#
# Date arithmetic is where warehouses differ most. `get_trip_duration_minutes` calls dbt's own cross-database macro
# `dbt.datediff`, which each adapter implements. Compile the same model for PostgreSQL and for DuckDB and compare
# (the DuckDB compile goes to a separate target folder):

# %%
import tempfile
from pathlib import Path

duck_target = Path(tempfile.mkdtemp())
assert dbt.run("compile", "--select", "stg_green_tripdata", target="duckdb", target_path=duck_target).success

def duration_sql(sql):
    return sql[sql.index("round(cast("):sql.index("as trip_duration_minutes")]

print("PostgreSQL:", duration_sql(dbt.compiled_sql("stg_green_tripdata")))
print("DuckDB:    ", duration_sql(dbt.compiled_sql("stg_green_tripdata", target_path=duck_target)))
assert "date_part" in duration_sql(dbt.compiled_sql("stg_green_tripdata"))
assert "date_diff" in duration_sql(dbt.compiled_sql("stg_green_tripdata", target_path=duck_target))

# %% [markdown]
# Whatever the SQL, the minutes must be those pandas computes from the timestamps:

# %%
durations = dbt.query("SELECT vendorid, pickup_datetime, trip_duration_minutes FROM dbt_dev.stg_yellow_tripdata", TARGET)
merged = durations.merge(yellow, left_on=["vendorid", "pickup_datetime"], right_on=["VendorID", "tpep_pickup_datetime"])
pandas_minutes = ((merged["tpep_dropoff_datetime"] - merged["tpep_pickup_datetime"]).dt.total_seconds() / 60).round(2)
assert len(merged) == len(yellow)
assert (merged["trip_duration_minutes"].astype(float) - pandas_minutes).abs().max() < 0.006
merged["trip_duration_minutes"].astype(float).describe()[["mean", "min", "max"]]

# %% [markdown]
# The negative minimum is the files' dirt (dropoff before pickup), kept in staging where a test or a later model can
# deal with it.
#
# ## A macro of our own, dispatched per warehouse
#
# The data mart groups by month. PostgreSQL writes `date_trunc('month', x)::date`, DuckDB has no `::date` habit but
# casts, BigQuery turns the arguments around: `date_trunc(date(x), MONTH)`. The package macro `truncate_date` calls
# `adapter.dispatch('truncate_date', 'taxi_utils')`, which picks `postgres__truncate_date`, `duckdb__truncate_date`,
# `bigquery__truncate_date` — or `default__truncate_date` on any other warehouse:

# %%
print((dbt.PROJECT_DIR.parent / "taxi_utils" / "macros" / "truncate_date.sql").read_text())

# %%
assert dbt.run("compile", "--select", "dm_monthly_zone_revenue", target="duckdb", target_path=duck_target).success

def month_sql(sql):
    return sql[sql.index("revenue_zone,") + len("revenue_zone,"):sql.index("as revenue_month")].strip()

on_postgres = month_sql(dbt.compiled_sql("dm_monthly_zone_revenue"))
on_duckdb = month_sql(dbt.compiled_sql("dm_monthly_zone_revenue", target_path=duck_target))
assert on_postgres == "date_trunc('month', pickup_datetime)::date"
assert on_duckdb == "cast(date_trunc('month', pickup_datetime) as date)"
print("PostgreSQL:", on_postgres)
print("DuckDB:    ", on_duckdb)

# %% [markdown]
# `dispatch:` in `dbt_project.yml` sets the search order: our project first, then the package. A file
# `macros/duckdb__truncate_date.sql` in the project would win over the package's version without touching the package.
#
# ## Variables
#
# `{% if var('is_test_run', default=false) %} limit 100 {% endif %}` in the staging models: a variable set in
# `dbt_project.yml` (false) and overridden on the command line, for a quick run while developing:

# %%
quick = dbt.run("run", "--select", "stg_green_tripdata", vars={"is_test_run": True}, target=TARGET)
rows = lambda: int(dbt.query("SELECT count(*) AS n FROM dbt_dev.stg_green_tripdata", TARGET)["n"][0])
assert quick.success and rows() == 100
print("with is_test_run:", rows())
assert dbt.run("run", "--select", "stg_green_tripdata", target=TARGET).success
print("without:         ", rows())
assert rows() > 100

# %% [markdown]
# ## Packages
#
# `packages.yml` lists packages; `dbt deps` installs them into `dbt_packages/`. The dbt Hub (`dbt_utils`, `dbt_expectations`,
# ...) needs the internet, so the course ships a small package in this week's folder, `taxi_utils`, installed as a
# `local:` package: offline, and a symlink, so edits to the package show at once. With internet access, a hub package
# is one more entry (commented out in the file), then `dbt deps` again; `package-lock.yml` records exactly what was installed.

# %%
print((dbt.PROJECT_DIR / "packages.yml").read_text())
deps = dbt.run("deps")
installed = dbt.PROJECT_DIR / "dbt_packages" / "taxi_utils"
assert deps.success and (installed / "dbt_project.yml").is_file()
print(installed, "->", installed.resolve())

# %% [markdown]
# A package's macros are called with its name (`taxi_utils.generate_surrogate_key(...)`), and its generic tests too
# (`taxi_utils.no_duplicate_rows` on the sources, in notebook 05). What the package brings, from the manifest:

# %%
manifest = dbt.manifest()
package_macros = sorted(m["name"] for m in manifest["macros"].values() if m["package_name"] == "taxi_utils")
assert {"generate_surrogate_key", "truncate_date", "test_no_duplicate_rows"} <= set(package_macros)
package_macros

# %% [markdown]
# ## Exercise 4
#
# What is the average trip duration, in minutes, of the green trips paid in cash (`payment_type_description = 'Cash'`)
# in `stg_green_tripdata`? Answer with a number.

# %%
my_answer = None

# %%
green = datasets.read_csv(datasets.trip_file("green", "2021-01"))
green = (green.sort_values(["VendorID", "lpep_pickup_datetime", "lpep_dropoff_datetime", "total_amount",
                            "trip_distance"]).drop_duplicates(["VendorID", "lpep_pickup_datetime"]))
cash = green[green["payment_type"] == 2]
minutes = ((cash["lpep_dropoff_datetime"] - cash["lpep_pickup_datetime"]).dt.total_seconds() / 60).round(2)
check(my_answer, float(minutes.mean()))

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = float(dbt.query("""
    SELECT avg(trip_duration_minutes) AS minutes FROM dbt_dev.stg_green_tripdata
    WHERE payment_type_description = 'Cash'
""", TARGET)["minutes"][0])
assert check(solution, float(minutes.mean()))
solution

# %% [markdown]
# ## Summary
#
# - Macros are Jinja functions that write SQL: one definition of a rule (payment descriptions, durations) for every model.
# - Cross-database SQL comes from dbt's own macros (`dbt.datediff`, `dbt.hash`, ...) and from `adapter.dispatch`,
#   which picks `<warehouse>__macro` — the compiled SQL differs, the results do not.
# - `var()` parameterizes a run; packages (`packages.yml`, `dbt deps`) share macros and tests between projects.
#
# **Next:** [05 · Tests and documentation](05_tests_and_docs.ipynb)

# %%
from zoomcamp import course

course.record("week_4_analytics_engineering/04_macros_and_packages.ipynb")  # this notebook ran to the end
