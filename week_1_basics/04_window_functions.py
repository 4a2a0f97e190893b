# %% [markdown]
# # 04 · Window functions
#
# **What you will learn**
# - `ROW_NUMBER()` to remove duplicates; `RANK()` and `DENSE_RANK()` within a group;
# - running totals and moving averages with window frames;
# - `LAG()`/`LEAD()` to compare a row with its neighbours;
# - `NTILE()` and `percentile_cont()` for distributions; keeping the top N per group (what `QUALIFY` does in other
#   databases) with a subquery.
#
# A window function computes over a set of rows related to the current row (its *window*: `PARTITION BY` which rows,
# `ORDER BY` in which order, a frame like `ROWS BETWEEN 6 PRECEDING AND CURRENT ROW`) without collapsing them like
# `GROUP BY` does.
#
# **What you need running:** the local stack (the next cell starts it and loads the tables).

# %%
import matplotlib.dates as mdates
import numpy as np
import pandas as pd

from zoomcamp import datasets, db, ingest, stack
from zoomcamp.exercises import check

stack.up()
yellow_path, zones_path = datasets.trip_file("yellow", "2021-01"), datasets.zones_file()
ingest.to_postgres(yellow_path, "yellow_taxi_trips", progress=False)  # idempotent: safe to run again
ingest.to_postgres(zones_path, "zones", progress=False)
trips, zones = datasets.read_csv(yellow_path), datasets.read_csv(zones_path)  # pandas copies, to check SQL against
print(f"{len(trips):,} trips, {len(zones)} zones")

# %% [markdown]
# ## ROW_NUMBER: remove duplicates
#
# Real feeds deliver some records twice. Make a copy of the trips with 100 duplicated rows, then keep the first row of
# each (vendor, pickup time, dropoff time, pickup zone, dropoff zone) group.

# %%
db.execute("DROP TABLE IF EXISTS trips_with_duplicates")
db.execute("CREATE TABLE trips_with_duplicates AS SELECT * FROM yellow_taxi_trips")
db.execute("INSERT INTO trips_with_duplicates SELECT * FROM yellow_taxi_trips ORDER BY tpep_pickup_datetime LIMIT 100")
deduplicated = db.query('''
    SELECT count(*) AS n FROM (
        SELECT *, row_number() OVER (
            PARTITION BY "VendorID", tpep_pickup_datetime, tpep_dropoff_datetime, "PULocationID", "DOLocationID"
            ORDER BY total_amount DESC) AS rn
        FROM trips_with_duplicates
    ) numbered
    WHERE rn = 1
''').loc[0, "n"]
key = ["VendorID", "tpep_pickup_datetime", "tpep_dropoff_datetime", "PULocationID", "DOLocationID"]
assert deduplicated == len(trips.drop_duplicates(subset=key))
print(f"{len(trips) + 100:,} rows with duplicates -> {deduplicated:,} after ROW_NUMBER() = 1")

# %% [markdown]
# ## RANK and DENSE_RANK per borough
#
# Rank pickup zones by trips inside each borough. `RANK()` leaves gaps after ties (1, 1, 3), `DENSE_RANK()` does not (1, 1, 2).

# %%
ranked = db.query('''
    SELECT z."Borough" AS borough, z."Zone" AS zone, count(*) AS trips,
           rank()       OVER (PARTITION BY z."Borough" ORDER BY count(*) DESC) AS rank,
           dense_rank() OVER (PARTITION BY z."Borough" ORDER BY count(*) DESC) AS dense_rank
    FROM yellow_taxi_trips t JOIN zones z ON t."PULocationID" = z."LocationID"
    GROUP BY 1, 2
''')
counts = (trips.merge(zones, left_on="PULocationID", right_on="LocationID")
          .groupby(["Borough", "Zone"]).size().rename("trips").reset_index())
counts["rank"] = counts.groupby("Borough")["trips"].rank(method="min", ascending=False).astype(int)
counts["dense_rank"] = counts.groupby("Borough")["trips"].rank(method="dense", ascending=False).astype(int)
merged = ranked.merge(counts, left_on=["borough", "zone"], right_on=["Borough", "Zone"], suffixes=("", "_pd"))
assert len(merged) == len(counts)
assert (merged["rank"] == merged["rank_pd"]).all() and (merged["dense_rank"] == merged["dense_rank_pd"]).all()
ranked[ranked["rank"] == 1].sort_values("trips", ascending=False)

# %% [markdown]
# ## Running totals and a 7-day moving average
#
# Daily revenue, its running total over the month (`SUM(...) OVER (ORDER BY day)`), and the average of the last
# seven days' trips (a `ROWS` frame).

# %%
daily = db.query('''
    WITH per_day AS (
        SELECT CAST(tpep_pickup_datetime AS DATE) AS day, count(*) AS trips, sum(total_amount) AS revenue
        FROM yellow_taxi_trips
        WHERE tpep_pickup_datetime >= '2021-01-01' AND tpep_pickup_datetime < '2021-02-01'
        GROUP BY 1
    )
    SELECT day, trips, revenue,
           sum(revenue) OVER (ORDER BY day) AS running_revenue,
           avg(trips)   OVER (ORDER BY day ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS trips_7d_avg
    FROM per_day ORDER BY day
''')
january = trips[trips["tpep_pickup_datetime"].between("2021-01-01", "2021-02-01", inclusive="left")]
pd_daily = january.groupby(january["tpep_pickup_datetime"].dt.date).agg(trips=("VendorID", "size"),
                                                                       revenue=("total_amount", "sum"))
assert np.isclose(daily["running_revenue"].iloc[-1], january["total_amount"].sum())
assert np.allclose(daily["running_revenue"], pd_daily["revenue"].cumsum())
assert np.allclose(daily["trips_7d_avg"].astype(float), pd_daily["trips"].rolling(7, min_periods=1).mean())
ax = daily.plot(x="day", y=["trips", "trips_7d_avg"], figsize=(10, 3), title="Trips per day and 7-day average")
# Short date labels that do not overlap: the month once, then day numbers (matplotlib's ConciseDateFormatter).
ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
ax.set_xlabel("");

# %% [markdown]
# ## LAG and LEAD: time between pickups in a zone
#
# `LAG(x) OVER (PARTITION BY zone ORDER BY time)` is the previous row's `x` in the same zone: the gap between
# consecutive pickups is one subtraction away.

# %%
gaps = db.query('''
    SELECT "PULocationID" AS zone, avg(gap_minutes) AS avg_gap_minutes, count(gap_minutes) AS gaps
    FROM (
        SELECT "PULocationID",
               EXTRACT(EPOCH FROM tpep_pickup_datetime
                       - lag(tpep_pickup_datetime) OVER (PARTITION BY "PULocationID" ORDER BY tpep_pickup_datetime)
               ) / 60 AS gap_minutes
        FROM yellow_taxi_trips
    ) g
    GROUP BY 1 HAVING count(gap_minutes) >= 50
    ORDER BY avg_gap_minutes
''')
ordered = trips.sort_values(["PULocationID", "tpep_pickup_datetime"])
pd_gap = ordered.groupby("PULocationID")["tpep_pickup_datetime"].diff().dt.total_seconds() / 60
pd_gaps = pd_gap.groupby(ordered["PULocationID"]).mean()
assert np.allclose(gaps["avg_gap_minutes"].astype(float), pd_gaps.loc[gaps["zone"]].to_numpy())
gaps.head()

# %% [markdown]
# `LEAD()` looks forward instead: here, the next trip's pickup time in the same zone (NULL for the zone's last trip).

# %%
with_next = db.query('''
    SELECT "PULocationID", tpep_pickup_datetime,
           lead(tpep_pickup_datetime) OVER (PARTITION BY "PULocationID" ORDER BY tpep_pickup_datetime) AS next_pickup
    FROM yellow_taxi_trips
''')
assert with_next["next_pickup"].isna().sum() == trips["PULocationID"].nunique()
with_next.dropna().head(3)

# %% [markdown]
# ## Distributions: NTILE and percentile_cont
#
# `NTILE(4)` splits rows into quartiles; `percentile_cont(0.5) WITHIN GROUP (ORDER BY x)` is the median (linear
# interpolation, like pandas' `quantile`).

# %%
quartiles = db.query('''
    SELECT quartile, count(*) AS trips, min(fare_amount) AS min_fare, max(fare_amount) AS max_fare
    FROM (SELECT fare_amount, ntile(4) OVER (ORDER BY fare_amount) AS quartile FROM yellow_taxi_trips) q
    GROUP BY 1 ORDER BY 1
''')
assert quartiles["trips"].sum() == len(trips) and quartiles["trips"].max() - quartiles["trips"].min() <= 1
median = db.query('''
    SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY fare_amount) AS median_fare,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY fare_amount) AS p90_fare
    FROM yellow_taxi_trips
''').iloc[0]
assert np.isclose(median["median_fare"], trips["fare_amount"].quantile(0.5))
assert np.isclose(median["p90_fare"], trips["fare_amount"].quantile(0.9))
quartiles

# %% [markdown]
# ## Top N per group (QUALIFY-style)
#
# PostgreSQL has no `QUALIFY` (BigQuery and DuckDB do): filter on a window function in an outer query instead.
# The three most frequent dropoff zones for each pickup borough:

# %%
top3 = db.query('''
    SELECT borough, "DOLocationID", trips, rn FROM (
        SELECT z."Borough" AS borough, t."DOLocationID", count(*) AS trips,
               row_number() OVER (PARTITION BY z."Borough" ORDER BY count(*) DESC, t."DOLocationID") AS rn
        FROM yellow_taxi_trips t JOIN zones z ON t."PULocationID" = z."LocationID"
        GROUP BY 1, 2
    ) ranked
    WHERE rn <= 3
    ORDER BY borough, rn
''')
pairs = (trips.merge(zones, left_on="PULocationID", right_on="LocationID")
         .groupby(["Borough", "DOLocationID"]).size().rename("trips").reset_index()
         .sort_values(["Borough", "trips", "DOLocationID"], ascending=[True, False, True])
         .groupby("Borough").head(3))
assert top3["DOLocationID"].tolist() == pairs["DOLocationID"].tolist()
top3.head(6)

# %% [markdown]
# ## Exercise 1
#
# For each borough, the pickup zone with the **highest revenue** (`sum(total_amount)`): return `borough`, `zone`,
# `revenue` (rounded to 2 decimals), one row per borough, ordered by borough. Use a window function.

# %%
my_answer = None  # your query here, e.g. db.query('''...''')

# %%
revenue = (trips.merge(zones, left_on="PULocationID", right_on="LocationID")
           .groupby(["Borough", "Zone"])["total_amount"].sum().round(2).rename("revenue").reset_index()
           .sort_values(["Borough", "revenue"], ascending=[True, False]).groupby("Borough").head(1))
check(my_answer, revenue)

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = db.query('''
    SELECT borough, zone, revenue FROM (
        SELECT z."Borough" AS borough, z."Zone" AS zone, round(sum(t.total_amount)::numeric, 2) AS revenue,
               row_number() OVER (PARTITION BY z."Borough" ORDER BY sum(t.total_amount) DESC) AS rn
        FROM yellow_taxi_trips t JOIN zones z ON t."PULocationID" = z."LocationID"
        GROUP BY 1, 2
    ) r WHERE rn = 1 ORDER BY borough
''')
solution["revenue"] = solution["revenue"].astype(float)
assert check(solution, revenue)
solution

# %% [markdown]
# ## Exercise 2
#
# For each day of January 2021, the day's trips and the change from the day before (`trips - previous day's trips`; NULL
# on January 1st). Return `day`, `trips`, `change`, ordered by day. Use `LAG()`.

# %%
my_answer = None  # your query here

# %%
per_day_pd = january.groupby(january["tpep_pickup_datetime"].dt.date).size().rename("trips").reset_index()
per_day_pd["change"] = per_day_pd["trips"].diff()
first_change_is_null = my_answer is not None and pd.isna(my_answer.iloc[0, 2])
check(None if my_answer is None else my_answer.iloc[1:], per_day_pd.iloc[1:])
if my_answer is not None and not first_change_is_null:
    print("(and the first day's change should be NULL: there is no day before it)")

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = db.query('''
    SELECT day, trips, trips - lag(trips) OVER (ORDER BY day) AS change
    FROM (SELECT CAST(tpep_pickup_datetime AS DATE) AS day, count(*) AS trips
          FROM yellow_taxi_trips
          WHERE tpep_pickup_datetime >= '2021-01-01' AND tpep_pickup_datetime < '2021-02-01'
          GROUP BY 1) d
    ORDER BY day
''')
assert pd.isna(solution.loc[0, "change"]) and check(solution.iloc[1:], per_day_pd.iloc[1:])
solution.head()

# %% [markdown]
# ## Summary
#
# - `ROW_NUMBER()` deduplicates and picks the top N per group; `RANK()`/`DENSE_RANK()` rank with ties.
# - Frames (`ROWS BETWEEN ...`) give running totals and moving averages; `LAG()`/`LEAD()` compare neighbours.
# - `NTILE()` and `percentile_cont()` describe distributions without leaving SQL.
#
# **Next:** [05 · Docker](05_docker.ipynb)

# %%
from zoomcamp import course

course.record("week_1_basics/04_window_functions.ipynb")  # this notebook ran to the end
