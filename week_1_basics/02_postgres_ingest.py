# %% [markdown]
# # 02 · Loading taxi data into PostgreSQL
#
# **What you will learn**
# - how to load a month of yellow-taxi trips and the zone lookup into PostgreSQL, typed and in chunks (COPY);
# - how to check what landed: row counts, dates, values, compared with an independent pandas computation;
# - joining trips to zones in SQL, and a first plot of trips per day;
# - why re-running a load must be safe (idempotent).
#
# **What you need running:** the local stack. The next cell starts it if it is not running (same as `zoomcamp stack up`).

# %%
from zoomcamp import datasets, db, ingest, stack

stack.up()
yellow_path = datasets.trip_file("yellow", "2021-01")
zones_path = datasets.zones_file()
yellow_path.name, zones_path.name

# %% [markdown]
# ## Load
#
# `ingest.to_postgres` reads the file in blocks, checks every value against the TLC types, creates the table from the
# schema table, and streams each block with PostgreSQL's `COPY` (far faster than row-by-row `INSERT`s). Malformed rows
# would be set aside in `yellow_taxi_trips_quarantine` with their line numbers. With `mode="replace"` (the default)
# it loads into a staging table and swaps it in at the end, in one transaction: a failed load leaves the old table intact.
# The command-line version is `zoomcamp ingest postgres FILE --table NAME`.

# %%
result = ingest.to_postgres(yellow_path, "yellow_taxi_trips")
zones_result = ingest.to_postgres(zones_path, "zones")
loaded = result.rows
print(result)
print(zones_result)

# %% [markdown]
# ## Check what landed
#
# Compare the table with the file, read independently with pandas.

# %%
trips = datasets.read_csv(yellow_path)
summary = db.query('''
    SELECT count(*)                         AS trips,
           min(tpep_pickup_datetime)        AS first_pickup,
           max(tpep_pickup_datetime)        AS last_pickup,
           round(sum(total_amount)::numeric, 2) AS revenue
    FROM yellow_taxi_trips
''')
assert summary.loc[0, "trips"] == len(trips) == loaded
assert summary.loc[0, "first_pickup"] == trips["tpep_pickup_datetime"].min()
assert abs(float(summary.loc[0, "revenue"]) - trips["total_amount"].sum()) < 0.01
assert db.query("SELECT count(*) AS n FROM zones").loc[0, "n"] == 265
summary

# %% [markdown]
# The first pickup is years before January 2021: that is the dirt from notebook 01 (a mistyped year). Real pipelines
# filter such rows in a later step (week 4's staging models do); the raw table keeps them, so nothing is lost.
#
# The column types in PostgreSQL come from the schema table:

# %%
db.query('''
    SELECT column_name, data_type FROM information_schema.columns
    WHERE table_name = 'yellow_taxi_trips' ORDER BY ordinal_position
''').set_index("column_name").T

# %% [markdown]
# ## Join trips to zones
#
# The top pickup zones of the month, in SQL; then the same answer from pandas, to be sure.

# %%
top_sql = db.query('''
    SELECT z."Borough" AS borough, z."Zone" AS zone, count(*) AS trips
    FROM yellow_taxi_trips t
    JOIN zones z ON t."PULocationID" = z."LocationID"
    GROUP BY 1, 2
    ORDER BY trips DESC, zone
    LIMIT 5
''')
zones = datasets.read_csv(zones_path)
top_pandas = (trips.merge(zones, left_on="PULocationID", right_on="LocationID")
              .groupby(["Borough", "Zone"]).size().rename("trips").reset_index()
              .sort_values(["trips", "Zone"], ascending=[False, True]).head(5))
assert top_sql["trips"].tolist() == top_pandas["trips"].tolist()
assert top_sql["zone"].tolist() == top_pandas["Zone"].tolist()
top_sql

# %% [markdown]
# ## Trips per day
#
# A plot says more than a table of 31 numbers: the weekly rhythm shows at once (Sundays are the quietest days).

# %%
per_day = db.query('''
    SELECT date_trunc('day', tpep_pickup_datetime)::date AS day, count(*) AS trips
    FROM yellow_taxi_trips
    WHERE tpep_pickup_datetime >= '2021-01-01' AND tpep_pickup_datetime < '2021-02-01'
    GROUP BY 1 ORDER BY 1
''')
in_month = trips["tpep_pickup_datetime"].between("2021-01-01", "2021-02-01", inclusive="left")
assert per_day["trips"].sum() == in_month.sum()
assert len(per_day) == 31
ax = per_day.plot.bar(x="day", y="trips", figsize=(10, 3), legend=False, color="#f2b705",
                      title="Yellow taxi trips per day, January 2021 (sample)")
ax.set_xticklabels([d.strftime("%d") for d in per_day["day"]], rotation=0)
ax.set_xlabel("day of January")
ax.set_ylabel("trips");

# %% [markdown]
# ## Re-running is safe
#
# Pipelines get re-run: after a failure, a fix, or by a scheduler. Loading the same file again with `replace` gives the
# same table, not twice the rows.

# %%
again = ingest.to_postgres(yellow_path, "yellow_taxi_trips", progress=False)
assert again.rows == loaded
assert db.query("SELECT count(*) AS n FROM yellow_taxi_trips").loc[0, "n"] == loaded
print(f"still {loaded:,} rows after loading twice")

# %% [markdown]
# ## Malformed rows: set aside, not lost
#
# Real files sometimes hold lines a loader cannot read: a field missing, text in a number column, an impossible date.
# The ingest command loads everything else and puts those lines in `<table>_quarantine` with their line number, the
# reason and the raw text. Here is the same command a terminal would run, on a copy of the file with three damaged lines:

# %%
import gzip
import subprocess
import sys
import tempfile
from pathlib import Path

lines = gzip.decompress(yellow_path.read_bytes()).decode().splitlines()  # lines[0] is the header

def damage(index, column, value):
    fields = lines[index].split(",")
    fields[column] = value
    lines[index] = ",".join(fields)

lines[5] += ",oops"                       # file line 6: one field too many
damage(50, 1, "2021-13-01 10:00:00")      # file line 51: month 13
damage(500, 0, "two")                     # file line 501: text for VendorID
damaged = Path(tempfile.mkdtemp()) / yellow_path.name
damaged.write_bytes(gzip.compress("\n".join(lines).encode()))

zoomcamp = Path(sys.executable).parent / "zoomcamp"
run = subprocess.run([zoomcamp, "ingest", "postgres", damaged, "--table", "yellow_damaged"],
                     capture_output=True, text=True)
print(run.stdout)
quarantine = db.query("SELECT line, reason FROM yellow_damaged_quarantine ORDER BY line")
assert quarantine["line"].tolist() == [6, 51, 501]
assert db.query("SELECT count(*) AS n FROM yellow_damaged").loc[0, "n"] == loaded - 3
quarantine

# %% [markdown]
# ## Summary
#
# - `COPY` in typed chunks loads a month in seconds; the table's types come from the TLC schema table.
# - Always check a load against an independent reading of the source: counts, min/max, sums.
# - A `replace` load is one transaction and can be re-run safely; malformed lines go to a quarantine table.
#
# **Next:** [03 · SQL refresher: joins, NULLs, GROUP BY](03_sql_refresher.ipynb)

# %%
from zoomcamp import course

course.record("week_1_basics/02_postgres_ingest.ipynb")  # this notebook ran to the end
