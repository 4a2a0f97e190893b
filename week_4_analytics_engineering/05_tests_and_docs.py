# %% [markdown]
# # 05 · Tests and documentation
#
# **What you will learn**
# - the kinds of dbt tests: generic (`unique`, `not_null`, `accepted_values`, `relationships`), custom generic, singular,
#   and unit tests (dbt 1.8+), and where each is declared;
# - what a failing test looks like: problems injected into the raw data, caught by the right test, with the failing
#   rows stored for inspection (`--store-failures`);
# - documentation: descriptions in YAML, `docs` blocks, `dbt docs generate` and its catalog, the lineage graph.
#
# **What you need running:** the local stack; the next cell starts it, loads the raw trips and builds the project.

# %%
import pandas as pd

from zoomcamp import datasets, db, dbt, stack
from zoomcamp.exercises import check

stack.up()
TARGET = "dev"
dbt.load_raw(TARGET)
assert dbt.run("build", "--full-refresh", target=TARGET).success

# %% [markdown]
# ## Four kinds of tests
#
# A dbt **data test** is a query that returns the bad rows: no rows, the test passes.
#
# - **generic** tests are parameterized queries attached to a column in YAML: `unique`, `not_null`, `accepted_values`,
#   `relationships` come with dbt;
# - a **custom generic** test is one of our own, written once with `{% test %}`: `within_range` in `tests/generic/`,
#   and `no_duplicate_rows` from the `taxi_utils` package;
# - a **singular** test is a one-off SQL file in `tests/`: `assert_monthly_revenue_reconciles`;
# - a **unit test** (dbt 1.8+) runs one model's SQL on input rows written in YAML and compares the output with expected
#   rows — logic checked on hand-picked cases, before the model is built on real data.
#
# Counted from the manifest:

# %%
manifest = dbt.manifest()
tests = pd.DataFrame([
    {"test": n["name"],
     "kind": ("generic: " + n["test_metadata"]["name"]) if n.get("test_metadata") else "singular",
     "on": ", ".join(sorted(d.split(".")[-1] for d in n["depends_on"]["nodes"]))}
    for n in manifest["nodes"].values() if n["resource_type"] == "test"])
unit_tests = list(manifest["unit_tests"])
kinds = tests["kind"].value_counts()
for kind in ("unique", "not_null", "accepted_values", "relationships", "within_range", "no_duplicate_rows"):
    assert kinds[f"generic: {kind}"] > 0, kind
assert kinds["singular"] == 1 and len(unit_tests) == 1
kinds

# %% [markdown]
# The custom generic test and the singular test are short SQL files:

# %%
print((dbt.PROJECT_DIR / "tests" / "generic" / "within_range.sql").read_text())
print((dbt.PROJECT_DIR / "tests" / "assert_monthly_revenue_reconciles.sql").read_text())

# %% [markdown]
# The unit test, in `models/staging/schema.yml`: five raw rows (two with the same vendor and pickup time, one without a
# payment type, one without a vendor) and the three rows `stg_green_tripdata` must make of them.

# %%
schema = (dbt.PROJECT_DIR / "models" / "staging" / "schema.yml").read_text()
print(schema[schema.index("unit_tests:"):])

# %%
result = dbt.run("test", target=TARGET)
print(result)
assert result.success
result.table()["status"].value_counts()

# %% [markdown]
# ## When the data is wrong
#
# Two problems real pipelines meet, injected into the raw tables:
#
# 1. **a trip loaded twice** (an exact copy of a row: a file appended twice, say). The staging model's deduplication would
#    quietly hide it, so the check belongs on the source: `taxi_utils.no_duplicate_rows` on `green_tripdata`.
# 2. **an unknown payment type** (code 7, which the TLC's dictionary does not define): `accepted_values` on
#    `stg_yellow_tripdata.payment_type`.
#
# `dbt build` runs each node's tests right after it and **skips everything downstream of a failure**: no bad data
# reaches `fact_trips`.

# %%
db.execute("INSERT INTO trips_data_all.green_tripdata SELECT * FROM trips_data_all.green_tripdata WHERE vendorid = 2 LIMIT 1")
db.execute("UPDATE trips_data_all.yellow_tripdata SET payment_type = 7 WHERE payment_type = 3")

broken = dbt.run("build", "--store-failures", target=TARGET)
print(broken)
assert not broken.success
assert broken.failed() == ["accepted_values_stg_yellow_tripdata_payment_type__False__1__2__3__4__5__6",
                           "taxi_utils_source_no_duplicate_rows_trips_data_all_green_tripdata_"]
assert broken.status("stg_green_tripdata") == broken.status("fact_trips") == "skipped"
broken.table().query("status in ('fail', 'skipped') and resource_type != 'test'")

# %% [markdown]
# With `--store-failures`, each failing test's rows are kept in a table (schema `dbt_dev_dbt_test__audit`; the manifest
# has its exact name), to look at.
# The accepted-values test found code 7 on as many trips as had code 3 before, deduplicated as staging does:

# %%
audit = next(n["relation_name"] for n in dbt.manifest()["nodes"].values()
             if n["name"] == "accepted_values_stg_yellow_tripdata_payment_type__False__1__2__3__4__5__6")
print(audit)  # long names are shortened with a hash to fit PostgreSQL's 63 characters
stored = dbt.query(f"SELECT * FROM {audit}", TARGET)
yellow = datasets.read_csv(datasets.trip_file("yellow", "2021-01"))
yellow = (yellow.sort_values(["VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "total_amount",
                              "trip_distance"]).drop_duplicates(["VendorID", "tpep_pickup_datetime"]))  # as staging
assert stored["value_field"].tolist() == [7] and stored["n_records"][0] == (yellow["payment_type"] == 3).sum()
stored

# %% [markdown]
# Repair the raw data (reload it) and build again: everything passes.

# %%
dbt.load_raw(TARGET)
repaired = dbt.run("build", target=TARGET)
assert repaired.success
print(repaired)

# %% [markdown]
# ## Documentation
#
# Every model, column, source, seed and macro can have a `description:` in YAML. Longer text goes in a `docs` block in a
# `.md` file (`{% docs fact_trips %} ... {% enddocs %}`) and is referenced with `"{{ doc('fact_trips') }}"`.
# `dbt docs generate` then writes `target/catalog.json` — what the warehouse holds: each table's type, columns and
# column types — next to the manifest. `dbt docs serve` shows both as a website (descriptions, SQL, lineage graph);
# here we read the files themselves.

# %%
docs = dbt.run("docs", "generate", target=TARGET)
assert docs.success
catalog = dbt.catalog()
manifest = dbt.manifest()
fact = catalog["nodes"]["model.taxi_rides_ny.fact_trips"]
descriptions = manifest["nodes"]["model.taxi_rides_ny.fact_trips"]["columns"]
columns = pd.DataFrame([(c["name"], c["type"], descriptions.get(c["name"], {}).get("description", ""))
                        for c in sorted(fact["columns"].values(), key=lambda c: c["index"])],
                       columns=["column", "type", "description"])
in_database = dbt.query("SELECT column_name FROM information_schema.columns WHERE table_schema = 'dbt_dev' "
                        "AND table_name = 'fact_trips' ORDER BY ordinal_position", TARGET)
assert columns["column"].tolist() == in_database["column_name"].tolist()
assert fact["metadata"]["type"] == "BASE TABLE"
print(manifest["nodes"]["model.taxi_rides_ny.fact_trips"]["description"][:300])
columns.head(12)

# %% [markdown]
# The lineage graph, as the docs site draws it (here from `manifest.json`, with matplotlib):

# %%
dbt.draw_lineage(manifest, title="taxi_rides_ny: what the docs site's lineage graph shows");

# %% [markdown]
# ## Exercise 5
#
# Write the query of a singular test that would catch impossible trips: how many rows of `stg_yellow_tripdata` have a
# dropoff before their pickup? Answer with the number of rows your query returns.

# %%
my_answer = None

# %%
impossible = int((yellow["tpep_dropoff_datetime"] < yellow["tpep_pickup_datetime"]).sum())
check(my_answer, impossible)

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = len(dbt.query("""
    SELECT tripid, pickup_datetime, dropoff_datetime FROM dbt_dev.stg_yellow_tripdata
    WHERE dropoff_datetime < pickup_datetime
""", TARGET))
assert check(solution, impossible)
solution

# %% [markdown]
# (As a file `tests/assert_no_dropoff_before_pickup.sql` this would fail the build on the sample's dirt; with
# `{{ config(severity='warn') }}` at the top it would report the rows without stopping anything.)
#
# ## Summary
#
# - Generic tests in YAML cover most needs; custom generic tests (`{% test %}`) and packages add more; singular tests
#   are one-off queries; unit tests check a model's logic on rows written by hand.
# - A failing test stops what depends on it in `dbt build`; `--store-failures` keeps the bad rows to look at.
# - Descriptions, `docs` blocks and `dbt docs generate` (manifest + catalog) document the project, lineage included.
#
# **Next:** [06 · Deployment: targets, selectors, CI](06_deployment.ipynb)

# %%
from zoomcamp import course

course.record("week_4_analytics_engineering/05_tests_and_docs.ipynb")  # this notebook ran to the end
