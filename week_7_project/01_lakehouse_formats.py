# %% [markdown]
# # 01 · Lakehouse table formats: Delta Lake and Apache Iceberg
#
# **What you will learn**
# - what a *table format* adds to a lake of parquet files: transactions, updates and deletes, time travel, schema
#   evolution, compaction — the "lakehouse";
# - Delta Lake (the `deltalake` package) and Apache Iceberg (`pyiceberg` with a local SQL catalog) on the taxi data:
#   create a table, append a month, replace a month, update and delete rows, read an older version, add a column,
#   compact small files;
# - where Apache Hudi and Databricks fit, and what a *data mesh* is.
#
# **What you need running:** nothing: both tables are folders on this machine (and a SQLite file for Iceberg's
# catalog). The data is the course's green taxi months, sample or real by your settings.

# %%
import json
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable, write_deltalake

from zoomcamp import datasets
from zoomcamp.exercises import check

work = Path(tempfile.mkdtemp(prefix="lakehouse-"))


def month_of(name: str) -> pa.Table:
    # One month of green trips with the month it came from, as the lake's partition key.
    table = pq.read_table(datasets.trip_file("green", name, "parquet")).replace_schema_metadata(None)
    return table.append_column("month", pa.array([name] * table.num_rows, pa.string()))


jan, feb, mar = month_of("2021-01"), month_of("2021-02"), month_of("2021-03")
frames = {m: t.to_pandas() for m, t in {"2021-01": jan, "2021-02": feb, "2021-03": mar}.items()}
pd.Series({m: len(f) for m, f in frames.items()}, name="rows")

# %% [markdown]
# ## Why a table format
#
# Week 2's lake is folders of parquet files. That is cheap and every engine reads it, but it is not a *table*: two
# writers can interleave, a reader can see half of a rewrite, there is no `UPDATE` or `DELETE` short of rewriting files
# by hand, no record of what the table looked like yesterday, and nothing stops a file with different columns from
# landing next to the others. (The course's `Lake` gets atomic month replacement by writing a whole file and renaming
# it — one trick, for one operation.)
#
# A **table format** keeps the data as the same parquet files and adds **metadata that says which files make up the
# table at each version**. Every change writes new files and then commits a new version of that list in one atomic
# step. From that one idea come transactions (readers see the old version or the new one), updates and deletes
# (rewrite the affected files, commit), time travel (read an older list), schema evolution (the schema is in the
# metadata), and compaction (rewrite many small files into a few, commit). Data lake storage with warehouse-like
# tables on top is what people call a **lakehouse**.
#
# The two big open formats are **Delta Lake** (from Databricks) and **Apache Iceberg** (from Netflix). We do the same
# things with both.
#
# ## Delta Lake: create a table
#
# `write_deltalake` writes parquet files and a **transaction log**, `_delta_log/`, with one JSON file per commit.
# Partitioning by `month` puts each month in its own folder, as in week 2.

# %%
delta_path = work / "delta_green"
write_deltalake(delta_path, jan, partition_by=["month"])
delta = DeltaTable(delta_path)
assert delta.version() == 0 and delta.to_pyarrow_table().num_rows == len(frames["2021-01"])
sorted(str(p.relative_to(delta_path)) for p in delta_path.rglob("*") if p.is_file())

# %% [markdown]
# The log's first commit says what the table is (`protocol`, `metaData` with the schema and partition columns) and which
# files it holds (`add`, with each file's row count and min/max statistics — engines use them to skip files).

# %%
commit = [json.loads(line) for line in (delta_path / "_delta_log" / "00000000000000000000.json").read_text().splitlines()]
actions = [next(iter(action)) for action in commit]
added = next(a["add"] for a in commit if "add" in a)
assert "metaData" in actions and actions.count("add") == 1
print(actions)
print(added["partitionValues"], json.loads(added["stats"])["numRecords"], "rows in", added["path"])

# %% [markdown]
# ## Append a month, replace a month
#
# Appending is a new commit that adds files. Replacing a month — the idempotent re-run of week 2 — is an overwrite
# *with a predicate*: only the files of the rows matching `month = '2021-02'` are replaced, in one commit. Run the
# replacement twice: the table does not grow.

# %%
write_deltalake(delta_path, feb, mode="append")
for _ in range(2):  # a re-run of February replaces February, nothing else
    write_deltalake(delta_path, feb, mode="overwrite", predicate="month = '2021-02'")
delta = DeltaTable(delta_path)
rows = delta.to_pandas(columns=["month"])["month"].value_counts().sort_index()
assert rows.to_dict() == {"2021-01": len(frames["2021-01"]), "2021-02": len(frames["2021-02"])}
print("version", delta.version())
rows

# %% [markdown]
# ## Update and delete
#
# The TLC files hold refunds and corrections as trips with negative amounts, and some trips without a
# `store_and_fwd_flag`. A lake of plain parquet would need every affected file rewritten by hand; a Delta table takes
# SQL-like predicates. Under the hood Delta rewrites the files that hold matching rows (*copy-on-write*) and commits.

# %%
both = pd.concat([frames["2021-01"], frames["2021-02"]], ignore_index=True)
deleted = delta.delete("total_amount < 0")
updated = delta.update(updates={"store_and_fwd_flag": "'N'"}, predicate="store_and_fwd_flag IS NULL")
current = DeltaTable(delta_path).to_pandas()
expected = both[~(both["total_amount"] < 0)]
assert deleted["num_deleted_rows"] == int((both["total_amount"] < 0).sum())
assert len(current) == len(expected) and current["store_and_fwd_flag"].notna().all()
assert updated["num_updated_rows"] == int(expected["store_and_fwd_flag"].isna().sum())
pd.DataFrame({"rows deleted": [deleted["num_deleted_rows"]], "rows updated": [updated["num_updated_rows"]],
              "rows now": [len(current)]})

# %% [markdown]
# ## Time travel
#
# Every version stays readable until its files are vacuumed: `DeltaTable(path, version=n)`. The history says what each
# commit did — who changed the table, when, how.

# %%
history = pd.DataFrame(DeltaTable(delta_path).history())[["version", "operation", "operationParameters"]]
before_delete = int(history.loc[history["operation"] == "DELETE", "version"].iloc[0]) - 1
old = DeltaTable(delta_path, version=before_delete).to_pandas()
assert len(old) == len(both) and (old["total_amount"] < 0).sum() == (both["total_amount"] < 0).sum()
assert len(DeltaTable(delta_path, version=0).to_pandas()) == len(frames["2021-01"])
history.sort_values("version").reset_index(drop=True)

# %% [markdown]
# ## Schema evolution
#
# Real TLC files gain columns over the years (`airport_fee` in 2022, `cbd_congestion_fee` in 2025). A Delta table
# *enforces* its schema: a month with an extra column is refused. Asked to, it *evolves*: `schema_mode="merge"` adds
# the column, and the older rows read it as null.

# %%
march = mar.append_column("cbd_congestion_fee", pa.array([0.75] * mar.num_rows, pa.float64()))
try:
    write_deltalake(delta_path, march, mode="append")
    refused = False
except Exception as exc:  # the schema mismatch is refused, and nothing is written
    refused, reason = True, str(exc).splitlines()[0]
assert refused and DeltaTable(delta_path).to_pyarrow_table().num_rows == len(current)
print("refused:", reason[:120])
write_deltalake(delta_path, march, mode="append", schema_mode="merge")
evolved = DeltaTable(delta_path).to_pandas()
by_month = evolved.groupby("month")["cbd_congestion_fee"].apply(lambda s: s.notna().sum())
assert by_month.to_dict() == {"2021-01": 0, "2021-02": 0, "2021-03": len(frames["2021-03"])}
by_month.rename("rows with cbd_congestion_fee")


# %% [markdown]
# ## Compaction
#
# Streaming jobs and small batches write many small files, and each file costs an open and a footer read on every
# query — the *small files problem* of week 2. `optimize.compact()` rewrites each partition's small files into one
# larger file and commits; `vacuum` then deletes the files no version needs any more (after a retention period: time
# travel to a vacuumed version stops working). `optimize.z_order([...])` goes further and sorts rows across files by the
# columns queries filter on (Delta's answer to clustering).

# %%
def data_files(table: DeltaTable, month: str) -> int:
    return sum(1 for f in table.file_uris() if f"month={month}" in f)


step = max(feb.num_rows // 10, 1)
for start in range(0, feb.num_rows, step):  # ten small writes, as a micro-batch job would
    chunk = feb.slice(start, step)
    write_deltalake(delta_path, chunk, mode="overwrite" if start == 0 else "append",
                    predicate="month = '2021-02'" if start == 0 else None, schema_mode="merge")
small = DeltaTable(delta_path)
files_before = data_files(small, "2021-02")
metrics = small.optimize.compact()
compacted = DeltaTable(delta_path)
files_after = data_files(compacted, "2021-02")
removable = compacted.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=True)
assert files_before >= 10 and files_after == 1
assert (compacted.to_pandas()["month"] == "2021-02").sum() == len(frames["2021-02"])
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.bar(["before", "after compact()"], [files_before, files_after], color=["#a54a4a", "#4a6fa5"])
ax.set_title("February's data files")
print(f"{metrics['numFilesRemoved']} files rewritten into {metrics['numFilesAdded']}; "
      f"vacuum would delete {len(removable)} unreferenced files")

# %% [markdown]
# ## Exercise 1
#
# Time travel: what was the table's total revenue (`sum(total_amount)`) at version 2 — after February was appended and
# replaced, before any delete? Read it with `DeltaTable(delta_path, version=2)`.

# %%
my_answer = None  # a number, to the cent

# %%
check(my_answer, round(float(both["total_amount"].sum()), 2))  # January + February as loaded, refunds included

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = round(float(DeltaTable(delta_path, version=2).to_pandas()["total_amount"].sum()), 2)
assert check(solution, round(float(both["total_amount"].sum()), 2))

# %% [markdown]
# ## Apache Iceberg, with a local catalog
#
# Iceberg keeps its metadata as a tree: a `metadata.json` per version (schema, partition spec, snapshots), a *manifest
# list* per snapshot, *manifests* listing data files with their statistics. A **catalog** records which
# `metadata.json` is current — the one atomic pointer swap that makes a commit. In production the catalog is a REST
# service, AWS Glue, Hive, Nessie or BigQuery's BigLake; here it is `SqlCatalog` on a SQLite file, with the warehouse in
# a local folder.
#
# The partition spec is *hidden partitioning*: queries filter on the column (`month = '2021-02'`), Iceberg maps the
# filter to partitions itself.

# %%
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.expressions import EqualTo, LessThan
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import DoubleType

iceberg_dir = work / "iceberg"
iceberg_dir.mkdir()
catalog = SqlCatalog("local", uri=f"sqlite:///{iceberg_dir / 'catalog.db'}", warehouse=iceberg_dir.as_uri())
catalog.create_namespace_if_not_exists("taxi")
green = catalog.create_table("taxi.green", schema=jan.schema)
with green.update_spec() as spec:
    spec.add_field("month", IdentityTransform(), "month")
green.append(jan)
green.append(feb)
assert green.scan().to_arrow().num_rows == len(frames["2021-01"]) + len(frames["2021-02"])
sorted(str(p.relative_to(iceberg_dir)) for p in iceberg_dir.rglob("*") if p.is_file() and "metadata" in p.parts)

# %% [markdown]
# Two appends, two snapshots. Replacing a month is `dynamic_partition_overwrite`: the partitions present in the new data
# are replaced, the others kept — February again, idempotently.

# %%
for _ in range(2):
    green.dynamic_partition_overwrite(feb)
counts = green.scan().to_pandas()["month"].value_counts().sort_index()
assert counts.to_dict() == {"2021-01": len(frames["2021-01"]), "2021-02": len(frames["2021-02"])}
green.inspect.snapshots().to_pandas()[["snapshot_id", "operation"]]

# %% [markdown]
# ## Update, delete and time travel in Iceberg
#
# `delete` takes a row filter. pyiceberg has no `UPDATE` statement (Spark, Trino and Flink do): an update is an
# `overwrite` with a filter — read the rows, change them, write them back in one commit. Every snapshot stays readable
# with `scan(snapshot_id=...)`.

# %%
green.delete(delete_filter=LessThan("total_amount", 0.0))
missing_flag = green.scan(row_filter="store_and_fwd_flag IS NULL").to_arrow()
fixed = missing_flag.set_column(missing_flag.schema.get_field_index("store_and_fwd_flag"), "store_and_fwd_flag",
                                pa.array(["N"] * missing_flag.num_rows, pa.string()))
green.overwrite(fixed, overwrite_filter="store_and_fwd_flag IS NULL")
now = green.scan().to_pandas()
assert len(now) == len(expected) and now["store_and_fwd_flag"].notna().all()
snapshots = green.inspect.snapshots().to_pandas()
first = green.scan(snapshot_id=int(snapshots["snapshot_id"].iloc[0])).to_pandas()
assert len(first) == len(frames["2021-01"])
pd.DataFrame({"first snapshot": [len(first)], "now": [len(now)], "snapshots": [len(snapshots)]})

# %% [markdown]
# ## Schema evolution in Iceberg
#
# Iceberg tracks columns by ID, not by name or position, so adding, renaming, dropping and reordering columns are
# metadata-only changes: no data file is rewritten, old files keep working. Add `cbd_congestion_fee`, rename a column,
# append March.

# %%
with green.update_schema() as update:
    update.add_column("cbd_congestion_fee", DoubleType(), doc="NYC congestion pricing fee (from 2025)")
    update.rename_column("ehail_fee", "e_hail_fee")
green.append(march.rename_columns([("e_hail_fee" if c == "ehail_fee" else c) for c in march.column_names]))
evolved = green.scan().to_pandas()
assert "e_hail_fee" in evolved and "ehail_fee" not in evolved
assert evolved.groupby("month")["cbd_congestion_fee"].count().to_dict() == {
    "2021-01": 0, "2021-02": 0, "2021-03": len(frames["2021-03"])}
pd.DataFrame([(f.field_id, f.name) for f in green.schema().fields if f.name in ("e_hail_fee", "cbd_congestion_fee")],
             columns=["field id", "name"])  # the renamed column keeps its ID: old files still map to it

# %% [markdown]
# ## Compaction in Iceberg
#
# pyiceberg does not have Spark's `rewrite_data_files` procedure yet; the same effect, for a small table, is an overwrite
# of the table with its own rows — one file per partition, one commit. Expiring snapshots then lets the old files go.

# %%
feb_now = feb.rename_columns([("e_hail_fee" if c == "ehail_fee" else c) for c in feb.column_names])
feb_now = feb_now.append_column("cbd_congestion_fee", pa.nulls(feb.num_rows, pa.float64()))  # today's schema
step = max(feb.num_rows // 10, 1)
for start in range(0, feb.num_rows, step):  # ten small appends
    green.append(feb_now.slice(start, step))
files_before = green.inspect.files().num_rows
rows_before = green.scan().to_arrow()
green.overwrite(rows_before)
files_after = green.inspect.files().num_rows
partitions = green.scan().to_pandas()["month"].nunique()
assert files_after == partitions < files_before and green.scan().to_arrow().num_rows == rows_before.num_rows
keep = green.current_snapshot().snapshot_id
green.maintenance.expire_snapshots().by_ids(
    [s.snapshot_id for s in green.snapshots() if s.snapshot_id != keep]).commit()
assert len(green.snapshots()) == 1
pd.DataFrame({"data files": [files_before, files_after]}, index=["before", "after the rewrite"])

# %% [markdown]
# ## Exercise 2
#
# Read only February from the Iceberg table (`green.scan(row_filter=EqualTo("month", "2021-02"))`): which payment type
# (`payment_type`, a number) has the most trips?

# %%
my_answer = None  # e.g. 1.0

# %%
february = frames["2021-02"]
check(my_answer, float(february["payment_type"].value_counts().idxmax()))  # the duplicated rows do not change it

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = float(green.scan(row_filter=EqualTo("month", "2021-02")).to_pandas()["payment_type"].value_counts().idxmax())
assert check(solution, float(february["payment_type"].value_counts().idxmax()))

# %% [markdown]
# ## Delta, Iceberg, Hudi, Databricks
#
# | | Delta Lake | Apache Iceberg | Apache Hudi |
# |---|---|---|---|
# | metadata | a log of JSON commits (+ parquet checkpoints) | metadata.json → manifest lists → manifests | a timeline of commits + a record index |
# | the atomic step | writing the next log file | the catalog swapping its pointer | writing the next timeline instant |
# | strong at | Spark and Databricks, simple setup (no catalog needed) | many engines (Spark, Trino, Flink, Snowflake, BigQuery, DuckDB), hidden partitioning, ID-based schema evolution | upsert-heavy and CDC ingestion: merge-on-read tables, record-level indexes |
# | Python without Spark | `deltalake` (Rust, used here) | `pyiceberg` (used here) | `hudi` (hudi-rs; reads) |
#
# - **Apache Hudi** (from Uber) was built for *upserts*: change streams from operational databases applied to the lake
#   every few minutes. Its *merge-on-read* tables write changes to small log files and merge them at read time (or in
#   background compaction); *copy-on-write* tables rewrite files as Delta and Iceberg do above.
# - **Databricks** is the company that created Spark and Delta Lake, and sells a managed lakehouse platform around them
#   (notebooks, jobs, SQL warehouses with the Photon engine, Unity Catalog for governance). *UniForm* writes Iceberg
#   metadata next to Delta's, so Iceberg engines read Delta tables. The cloud warehouses went the other way: BigQuery
#   (BigLake), Snowflake and Redshift read and write Iceberg tables in your bucket. The formats are converging; choose
#   by the engines you use.
#
# ## Data mesh
#
# A **data mesh** is an organisational idea, not a tool (Zhamak Dehghani, 2019). Instead of one central data team owning
# one central lake or warehouse, it has four principles:
#
# 1. **Domain ownership** — the team that runs a business domain (trips, payments, drivers) owns its analytical data
#    too, end to end.
# 2. **Data as a product** — each domain publishes datasets for others as products: documented, tested, versioned, with
#    an owner and guarantees (freshness, a schema contract). In this course's terms: week 4's `fact_trips` with its
#    tests and docs, published by the trips team.
# 3. **A self-serve platform** — a central platform team provides the storage, compute, catalog and pipelines (the
#    lake, the table format, Airflow, dbt) so that domains do not each build their own.
# 4. **Federated governance** — global rules (naming, access, privacy, interoperable formats such as Iceberg) agreed
#    between domains and enforced by the platform.
#
# It answers a scaling problem — the central team as a bottleneck — and costs duplicated effort and coordination; a
# small company with one data team does not need it. Open table formats help a mesh: every domain writes Iceberg or
# Delta tables that every other domain's engine can read.
#
# ## Summary
#
# - A table format is parquet files plus metadata listing which files make up each version; committing a new version
#   atomically gives transactions, updates and deletes, time travel, schema evolution and compaction.
# - Delta Lake keeps a log of JSON commits beside the data; Iceberg keeps a metadata tree and a catalog pointer.
# - Replacing a month is one call in both (`predicate=` in Delta, `dynamic_partition_overwrite` in Iceberg) and is
#   idempotent; updates and deletes rewrite the affected files; older versions stay readable until vacuumed or expired.
# - Schema evolution is explicit (Delta: `schema_mode="merge"`; Iceberg: `update_schema()`, ID-based renames).
# - Compaction fights the small files problem; Hudi targets upserts; Databricks sells the platform; data mesh is about
#   who owns data, not where it is stored.
#
# **Next:** [02 · The reference project](02_reference_project.ipynb)

# %%
from zoomcamp import course

course.record("week_7_project/01_lakehouse_formats.ipynb")  # this notebook ran to the end
