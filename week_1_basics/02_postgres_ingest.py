# %% [markdown]
# # 02 · Loading taxi data into PostgreSQL
#
# **What you will learn**
# - how to write a chunked loader yourself, the DataTalksClub way (`pandas.read_csv(chunksize=...)` + `to_sql`), then
#   with PostgreSQL's `COPY`, and how much faster `COPY` is, measured;
# - where a naive loader breaks: a malformed row, a re-run that duplicates rows, a crash half-way;
# - what the course's loader (`ingest.to_postgres`) adds, and a check that it lands the same rows as yours;
# - how to check what landed (counts, dates, sums against an independent reading), joins to zones and a first plot.
#
# **What you need running:** the local stack. The next cell starts it if it is not running (same as `zoomcamp stack up`).

# %%
import gzip
import io
import tempfile
import time
from pathlib import Path

import pandas as pd

from zoomcamp import datasets, db, ingest, stack
from zoomcamp.exercises import check
from zoomcamp.settings import get_settings

stack.up()
engine = db.engine()  # a SQLAlchemy engine on the course's PostgreSQL (host, port, password from the stack)
yellow_path = datasets.trip_file("yellow", "2021-01")
zones_path = datasets.zones_file()
# The real month has 1.3 M rows: DataTalksClub's 100,000-row chunks. The sample is small: 1,000-row chunks, so that
# a load still takes several chunks.
chunksize = 100_000 if get_settings().data_source == "download" else 1_000
file_rows = sum(1 for _ in gzip.open(yellow_path, "rt")) - 1  # every line but the header
yellow_path.name, file_rows

# %% [markdown]
# ## Your loader, the DataTalksClub way: pandas chunks and `to_sql`
#
# A month does not have to fit in memory: `pd.read_csv(..., chunksize=N)` returns an iterator of DataFrames of `N`
# rows. The first chunk's empty head makes the table (`to_sql` guesses the column types from pandas' dtypes), then every
# chunk is appended. Three small functions, each with one job:

# %%
TIMESTAMPS = ["tpep_pickup_datetime", "tpep_dropoff_datetime"]


def read_chunks(path, chunksize):
    """The file as DataFrames of `chunksize` rows, timestamps parsed."""
    for chunk in pd.read_csv(path, chunksize=chunksize):
        for column in TIMESTAMPS:
            chunk[column] = pd.to_datetime(chunk[column])
        yield chunk


def create_table(path, table):
    """An empty table with the file's columns; the types are pandas' guesses from the first rows."""
    first = next(read_chunks(path, 100))
    first.head(0).to_sql(table, engine, if_exists="replace", index=False)


def load_with_to_sql(chunks, table):
    """Append every chunk (INSERT statements); each chunk is committed on its own."""
    rows = 0
    for chunk in chunks:
        chunk.to_sql(table, engine, if_exists="append", index=False)
        rows += len(chunk)
    return rows


def count(table):
    return int(db.query(f'SELECT count(*) AS n FROM "{table}"').loc[0, "n"])


started = time.perf_counter()
create_table(yellow_path, "my_trips")
my_rows = load_with_to_sql(read_chunks(yellow_path, chunksize), "my_trips")
to_sql_seconds = time.perf_counter() - started
assert my_rows == count("my_trips") == file_rows
print(f"{my_rows:,} rows in {to_sql_seconds:.2f} s with to_sql")


# %% [markdown]
# ## Faster: `COPY`
#
# `to_sql` sends `INSERT` statements: the server parses SQL for every batch of rows. PostgreSQL's `COPY ... FROM STDIN`
# takes the rows as one stream of CSV text, parsed by a loop built for it. psycopg2 (the driver under SQLAlchemy) sends
# it with `cursor.copy_expert`: each chunk is written to an in-memory CSV buffer and streamed.

# %%
def load_with_copy(chunks, table):
    """Stream every chunk with COPY; each chunk is committed on its own, as above."""
    rows = 0
    connection = engine.raw_connection()  # the psycopg2 connection under SQLAlchemy
    try:
        for chunk in chunks:
            buffer = io.StringIO()
            # Missing values become empty fields (COPY reads NULL). "%.15g" writes 1.0 as 1: pandas makes an integer
            # column float when a chunk has a missing value, and COPY refuses "1.0" for the table's BIGINT.
            chunk.to_csv(buffer, index=False, header=False, float_format="%.15g")
            buffer.seek(0)
            with connection.cursor() as cursor:
                cursor.copy_expert(f'COPY "{table}" FROM STDIN WITH (FORMAT csv)', buffer)
            connection.commit()
            rows += len(chunk)
    finally:
        connection.close()
    return rows


started = time.perf_counter()
create_table(yellow_path, "my_trips_copy")
copy_rows = load_with_copy(read_chunks(yellow_path, chunksize), "my_trips_copy")
copy_seconds = time.perf_counter() - started
assert copy_rows == count("my_trips_copy") == file_rows
timings = pd.DataFrame({"seconds": [to_sql_seconds, copy_seconds]}, index=["to_sql (INSERT)", "COPY"])
timings["rows per second"] = (file_rows / timings["seconds"]).round(-2)
timings.round(2)

# %% [markdown]
# `COPY` is several times faster, and the gap grows with the file (on the real month, `to_sql` takes minutes). Reading
# and parsing the CSV in pandas is now a good part of what is left.
#
# ## Where a naive loader breaks
#
# Both loaders work on a clean file, run once, without interruption. Real pipelines get none of these three promises.
#
# ### 1. A malformed row
#
# Make a copy of the file with one damaged line in its third chunk: a field too many (a stray comma).

# %%
lines = gzip.decompress(yellow_path.read_bytes()).decode().splitlines()  # lines[0] is the header
bad_line = 2 * chunksize + 10  # in the third chunk
lines[bad_line] += ",oops"
damaged = Path(tempfile.mkdtemp()) / yellow_path.name
damaged.write_bytes(gzip.compress("\n".join(lines).encode(), compresslevel=1))

create_table(damaged, "my_trips_damaged")
try:
    load_with_copy(read_chunks(damaged, chunksize), "my_trips_damaged")
except pd.errors.ParserError as error:
    print("the load stopped:", str(error).strip())
partial = count("my_trips_damaged")
assert partial == 2 * chunksize  # the two chunks before the bad line stay in the table
print(f"{partial:,} of {file_rows - 1:,} good rows landed")

# %% [markdown]
# One bad line out of thousands stops the whole load, and the two chunks before it stay in the table: a half-loaded
# table that looks like a complete one. Worse, a damage that still parses is not even noticed: text in a number column
# turns the column into text for the whole table, because `to_sql` guessed the types from the first rows.

# %%
lines = gzip.decompress(yellow_path.read_bytes()).decode().splitlines()
fields = lines[5].split(",")
fields[0] = "two"  # VendorID, a number, written as a word
lines[5] = ",".join(fields)
damaged.write_bytes(gzip.compress("\n".join(lines).encode(), compresslevel=1))

create_table(damaged, "my_trips_damaged")
load_with_copy(read_chunks(damaged, chunksize), "my_trips_damaged")
vendor_type = db.query('''SELECT data_type FROM information_schema.columns
                          WHERE table_name = 'my_trips_damaged' AND column_name = 'VendorID' ''').loc[0, "data_type"]
assert vendor_type == "text" and count("my_trips_damaged") == file_rows
print(f"VendorID is now {vendor_type!r}: every later sum or join on it treats numbers as words")

# %% [markdown]
# ### 2. A re-run duplicates rows
#
# Schedulers retry, and people re-run a notebook. `my_trips_copy` already holds the month; load it again:

# %%
before = count("my_trips_copy")
load_with_copy(read_chunks(yellow_path, chunksize), "my_trips_copy")
after = count("my_trips_copy")
assert after == 2 * before
print(f"before: {before:,} rows, after the re-run: {after:,}")


# %% [markdown]
# Nothing failed and every number downstream doubled. (DataTalksClub's script drops the table at the start, so a
# re-run of *one* month is safe there; but a table that collects month after month must be appended to, and then
# loading a month twice is exactly this.)
#
# ### 3. A crash half-way
#
# The network drops, the laptop sleeps, the process is killed. Simulate it: a wrapper around the chunks that raises
# after two of them.

# %%
def crash_after(chunks, n):
    for i, chunk in enumerate(chunks):
        if i == n:
            raise ConnectionError("the connection to the server was lost")
        yield chunk


create_table(yellow_path, "my_trips_crash")
try:
    load_with_copy(crash_after(read_chunks(yellow_path, chunksize), 2), "my_trips_crash")
except ConnectionError as error:
    print("the load stopped:", error)
assert count("my_trips_crash") == 2 * chunksize
load_with_copy(read_chunks(yellow_path, chunksize), "my_trips_crash")  # the obvious fix: run it again
assert count("my_trips_crash") == file_rows + 2 * chunksize
print(f"after the crash and a re-run: {count('my_trips_crash'):,} rows for a {file_rows:,}-row file")

# %% [markdown]
# Committing chunk by chunk leaves a partial table behind, and the re-run that should repair it adds duplicates on top.
# The fixes are known: check every value against a schema and set bad lines aside; decide "is this file already
# loaded?" once per file; load a file in **one** transaction, so a crash leaves nothing behind.
#
# ## The course's loader: `ingest.to_postgres`
#
# [`ingest.to_postgres`](../shared/zoomcamp/ingest.py) is the loader you just wrote, with those fixes. Open its source
# next to this notebook: it is the same loop (blocks of the file → `COPY`), and what it adds is
#
# - **types from the schema table**, not guessed: the table is created from the TLC's types
#   ([`datasets/schemas.py`](../shared/zoomcamp/datasets/schemas.py)), and every value is checked before it is sent;
# - **quarantine**: a malformed line goes to `<table>_quarantine` with its line number, the reason and the raw text;
#   the load goes on;
# - **one transaction per file**: `replace` loads into a staging table and swaps it in at the end; a crash leaves the
#   old table as it was;
# - **one atomic "already loaded" decision per file**: `append` records each file's SHA-256 in `zoomcamp_loads` and
#   skips a file the table already holds;
# - **an advisory lock** per table: two loads of one table at once take turns, so two runs of the same file load it once;
# - reading in a thread while PostgreSQL parses the previous block (the two use two cores), and a progress bar.
#
# The command-line version is `zoomcamp ingest postgres FILE --table NAME`.

# %%
result = ingest.to_postgres(yellow_path, "yellow_taxi_trips")
zones_result = ingest.to_postgres(zones_path, "zones")
loaded = result.rows
print(result)
print(zones_result)

# %% [markdown]
# Same rows as your loader? `my_trips`, your first load, holds the file once: compare it with the library's table,
# counts and a checksum per day (trips and the sum of `total_amount`).

# %%
per_day_sql = '''SELECT tpep_pickup_datetime::date AS day, count(*) AS trips, round(sum(total_amount)::numeric, 2) AS total
                 FROM "{}" GROUP BY 1 ORDER BY 1'''
mine, library = db.query(per_day_sql.format("my_trips")), db.query(per_day_sql.format("yellow_taxi_trips"))
assert count("my_trips") == loaded == file_rows
pd.testing.assert_frame_equal(mine, library)
print(f"{loaded:,} rows, {len(mine)} days: the same trips and totals, day by day")

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
# ## The three breaks again, with the library
#
# **A re-run.** With `replace` (the default) a second load gives the same table; with `mode="append"` the library
# finds the file's checksum in `zoomcamp_loads` and loads nothing.

# %%
again = ingest.to_postgres(yellow_path, "yellow_taxi_trips", progress=False)
skipped = ingest.to_postgres(yellow_path, "yellow_taxi_trips", mode="append", progress=False)
print(skipped)
assert again.rows == loaded and skipped.skipped
assert count("yellow_taxi_trips") == loaded
print(f"still {loaded:,} rows after loading three times")

# %% [markdown]
# **Malformed rows: set aside, not lost.** The library loads everything else and puts the lines it cannot read
# in `<table>_quarantine` with their line number, the reason and the raw text. Load a copy of the file with three
# damaged lines (the two that broke your loader, and an impossible date); in a terminal the same load is
# `zoomcamp ingest postgres FILE --table yellow_damaged`.

# %%
lines = gzip.decompress(yellow_path.read_bytes()).decode().splitlines()  # lines[0] is the header


def damage(index, column, value):
    fields = lines[index].split(",")
    fields[column] = value
    lines[index] = ",".join(fields)


lines[5] += ",oops"                       # file line 6: one field too many
damage(50, 1, "2021-13-01 10:00:00")      # file line 51: month 13
damage(500, 0, "two")                     # file line 501: text for VendorID
damaged.write_bytes(gzip.compress("\n".join(lines).encode(), compresslevel=1))

print(ingest.to_postgres(damaged, "yellow_damaged", progress=False))
quarantine = db.query("SELECT line, reason FROM yellow_damaged_quarantine ORDER BY line")
assert quarantine["line"].tolist() == [6, 51, 501]
assert count("yellow_damaged") == loaded - 3
quarantine

# %% [markdown]
# **A crash half-way** cannot leave a partial table: the rows, the swap and the record of the load are one
# transaction, committed at the end or not at all (`tests/test_ingest.py` makes PostgreSQL fail a load after its rows went in, and
# checks that the table is as it was).
#
# ## Exercise 1: make your loader safe to re-run
#
# Write `load_once(chunks, table, file_name)`: it loads the chunks with `COPY` like `load_with_copy`, but
#
# - in **one** transaction (commit once at the end; on an error, `connection.rollback()`), so a crash leaves nothing;
# - and it first looks `file_name` up in a table `my_loads` (create it if missing) and loads nothing if it is there;
#   it records `file_name` in the same transaction as the rows.
#
# The check below crashes it half-way, then runs it twice: the table must end with the file's rows, once.

# %%
my_load_once = None  # your function here


# %%
def run_three_times(load_once):
    db.execute("DROP TABLE IF EXISTS my_loads")
    create_table(yellow_path, "my_trips_once")
    try:
        load_once(crash_after(read_chunks(yellow_path, chunksize), 2), "my_trips_once", yellow_path.name)
    except ConnectionError:
        pass
    for _ in range(2):
        load_once(read_chunks(yellow_path, chunksize), "my_trips_once", yellow_path.name)
    return count("my_trips_once")


check(my_load_once and run_three_times(my_load_once), file_rows);


# %% jupyter={"source_hidden": true} tags=["solution"]
def load_once(chunks, table, file_name):
    connection = engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS my_loads (file_name TEXT PRIMARY KEY)")
            cursor.execute("SELECT 1 FROM my_loads WHERE file_name = %s", (file_name,))
            if cursor.fetchone():
                return 0  # already loaded: nothing to do
            rows = 0
            for chunk in chunks:
                buffer = io.StringIO()
                chunk.to_csv(buffer, index=False, header=False, float_format="%.15g")
                buffer.seek(0)
                cursor.copy_expert(f'COPY "{table}" FROM STDIN WITH (FORMAT csv)', buffer)
                rows += len(chunk)
            cursor.execute("INSERT INTO my_loads VALUES (%s)", (file_name,))
        connection.commit()  # the rows and the record, together
        return rows
    except BaseException:
        connection.rollback()  # a crash leaves the table as it was
        raise
    finally:
        connection.close()


assert check(run_three_times(load_once), file_rows)

# %% [markdown]
# ## Exercise 2: types from the schema
#
# Your `create_table` lets pandas guess the column types, so `"two"` turned `VendorID` into text. Change it to create
# the table from the course's schema table: `datasets.schemas.postgres_ddl("yellow", table)` returns the
# `CREATE TABLE` statement (run it with `db.execute`). Load the damaged file again with your loader: what happens to the
# line with `"two"` now, and which of the fixes above would you add next? (No check: compare with `ingest.py`.)

# %% [markdown]
# ## Summary
#
# - A chunked loader is a few lines: `read_csv(chunksize=...)` and `to_sql`; `COPY` makes it several times faster.
# - Naively, one malformed line stops it half-way, a re-run doubles the rows, and a crash leaves a partial table;
#   guessed types hide bad values.
# - `ingest.to_postgres` is the same loop with types from the schema, a quarantine, one transaction per file, an
#   "already loaded" record and a lock; it lands the same rows as yours.
# - Always check a load against an independent reading of the source: counts, min/max, sums per day.
#
# **Next:** [03 · SQL refresher: joins, NULLs, GROUP BY](03_sql_refresher.ipynb)

# %%
from zoomcamp import course

course.record("week_1_basics/02_postgres_ingest.ipynb")  # this notebook ran to the end
