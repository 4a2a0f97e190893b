# %% [markdown]
# # 03 · SQL refresher: joins, NULLs, GROUP BY
#
# **What you will learn**
# - inner joins written two ways, and left, right and full outer joins (and why a bare `OUTER JOIN` is an error in PostgreSQL);
# - finding trips whose zone is missing, and counting NULLs;
# - grouping by day, by several columns (`GROUP BY 1, 2`), ordering, and aggregates.
#
# **What you need running:** the local stack. The next cell starts it and (re)loads the tables of notebook 02.
# Every query's answer is checked against the same computation in pandas.

# %%
from zoomcamp import datasets, db, ingest, stack
from zoomcamp.exercises import check

stack.up()
yellow_path, zones_path = datasets.trip_file("yellow", "2021-01"), datasets.zones_file()
ingest.to_postgres(yellow_path, "yellow_taxi_trips", progress=False)  # idempotent: safe to run again
ingest.to_postgres(zones_path, "zones", progress=False)
trips, zones = datasets.read_csv(yellow_path), datasets.read_csv(zones_path)  # pandas copies, to check SQL against
print(f"{len(trips):,} trips, {len(zones)} zones")

# %% [markdown]
# ## Inner joins
#
# The implicit join (tables in `FROM`, condition in `WHERE`) and the explicit `JOIN ... ON` are the same query.
# Every trip has a known pickup zone here, so the join keeps every trip.

# %%
implicit = db.query('''
    SELECT count(*) AS n FROM yellow_taxi_trips t, zones z WHERE t."PULocationID" = z."LocationID"
''').loc[0, "n"]
explicit = db.query('''
    SELECT count(*) AS n FROM yellow_taxi_trips t JOIN zones z ON t."PULocationID" = z."LocationID"
''').loc[0, "n"]
assert implicit == explicit == len(trips.merge(zones, left_on="PULocationID", right_on="LocationID"))
implicit, explicit

# %% [markdown]
# ## When a zone is missing: left, right and full outer joins
#
# Make a copy of the zone table without the busiest pickup zone. An inner join silently drops its trips; a `LEFT JOIN`
# keeps them with NULL zone columns, which is how missing dimension rows are found.

# %%
busiest = int(trips["PULocationID"].value_counts().idxmax())
db.execute('DROP TABLE IF EXISTS zones_missing')
db.execute('CREATE TABLE zones_missing AS SELECT * FROM zones WHERE "LocationID" <> :id', {"id": busiest})
orphans = db.query('''
    SELECT count(*) AS trips_without_zone
    FROM yellow_taxi_trips t LEFT JOIN zones_missing z ON t."PULocationID" = z."LocationID"
    WHERE z."LocationID" IS NULL
''').loc[0, "trips_without_zone"]
assert orphans == (trips["PULocationID"] == busiest).sum()
print(f"zone {busiest} removed: {orphans} trips have no zone")

# %% [markdown]
# A `RIGHT JOIN` keeps every zone, with NULL trip columns for zones nobody was picked up in; a `FULL OUTER JOIN`
# keeps both kinds. (PostgreSQL has no bare `OUTER JOIN`: say `LEFT`, `RIGHT` or `FULL`.)

# %%
zones_without_trips = db.query('''
    SELECT z."LocationID", z."Zone"
    FROM yellow_taxi_trips t RIGHT JOIN zones_missing z ON t."PULocationID" = z."LocationID"
    WHERE t."PULocationID" IS NULL
    ORDER BY 1
''')
assert set(zones_without_trips["LocationID"]) == set(zones["LocationID"]) - set(trips["PULocationID"]) - {busiest}
print(f"{len(zones_without_trips)} zones had no pickup this month (RIGHT JOIN)")
zones_without_trips.head(3)

# %%
outer = db.query('''
    SELECT count(*) FILTER (WHERE t."PULocationID" IS NULL) AS zones_without_trips,
           count(*) FILTER (WHERE z."LocationID" IS NULL)   AS trips_without_zone
    FROM yellow_taxi_trips t FULL OUTER JOIN zones_missing z ON t."PULocationID" = z."LocationID"
''').iloc[0]
used = set(trips["PULocationID"])
assert outer["zones_without_trips"] == len(set(zones["LocationID"]) - used - {busiest})
assert outer["trips_without_zone"] == orphans
outer.to_frame("rows")

# %% [markdown]
# ## NULLs
#
# `count(*)` counts rows, `count(column)` counts non-NULL values: the difference is the number of NULLs.

# %%
nulls = db.query('''
    SELECT count(*) AS all_rows, count("RatecodeID") AS with_ratecode,
           count(*) - count("RatecodeID") AS null_ratecode
    FROM yellow_taxi_trips
''').iloc[0]
assert nulls["null_ratecode"] == trips["RatecodeID"].isna().sum()
nulls.to_frame("rows")

# %% [markdown]
# ## GROUP BY day, ordering, aggregates
#
# Trips per day with the day's largest fare and passenger count, busiest day first. `CAST(... AS DATE)` and
# `date_trunc('day', ...)` both give the day.

# %%
per_day = db.query('''
    SELECT CAST(tpep_pickup_datetime AS DATE) AS day, count(*) AS trips,
           max(total_amount) AS max_total, max(passenger_count) AS max_passengers
    FROM yellow_taxi_trips
    GROUP BY CAST(tpep_pickup_datetime AS DATE)
    ORDER BY trips DESC, day
    LIMIT 5
''')
expected = (trips.groupby(trips["tpep_pickup_datetime"].dt.date).size()
            .rename("trips").reset_index().sort_values(["trips", "tpep_pickup_datetime"], ascending=[False, True]))
assert per_day["trips"].tolist() == expected["trips"].head(5).tolist()
assert per_day["day"].tolist() == expected["tpep_pickup_datetime"].head(5).tolist()
per_day

# %% [markdown]
# `GROUP BY 1, 2` groups by the first and second selected expressions: handy, but name them in production code.

# %%
by_day_dropoff = db.query('''
    SELECT CAST(tpep_pickup_datetime AS DATE) AS day, "DOLocationID", count(*) AS trips
    FROM yellow_taxi_trips
    GROUP BY 1, 2
    ORDER BY day, "DOLocationID"
''')
assert len(by_day_dropoff) == trips.groupby([trips["tpep_pickup_datetime"].dt.date, "DOLocationID"]).ngroups
by_day_dropoff.head()

# %% [markdown]
# ## Exercise
#
# Which pickup **borough** has the most trips, and how many? Write a query that returns one row (`borough`, `trips`)
# and put it in `my_answer` as a DataFrame, e.g. `my_answer = db.query("SELECT ...")`.

# %%
my_answer = None  # your query here

# %%
expected = (trips.merge(zones, left_on="PULocationID", right_on="LocationID")
            .groupby("Borough").size().sort_values(ascending=False).head(1).reset_index())
check(my_answer, expected)

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = db.query('''
    SELECT z."Borough" AS borough, count(*) AS trips
    FROM yellow_taxi_trips t JOIN zones z ON t."PULocationID" = z."LocationID"
    GROUP BY 1 ORDER BY trips DESC LIMIT 1
''')
assert check(solution, expected)
solution

# %% [markdown]
# ## Summary
#
# - Inner joins drop rows without a match; `LEFT`/`RIGHT`/`FULL OUTER JOIN` keep them with NULLs — the way to find
#   missing dimension rows.
# - `count(*) - count(col)` counts NULLs; `GROUP BY` with aggregates summarises, `ORDER BY` ranks.
#
# **Next:** [04 · Window functions](04_window_functions.ipynb)

# %%
from zoomcamp import course

course.record("week_1_basics/03_sql_refresher.ipynb")  # this notebook ran to the end
