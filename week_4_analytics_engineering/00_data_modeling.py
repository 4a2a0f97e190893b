# %% [markdown]
# # 00 · Data modeling: facts, dimensions, history, and the one big table
#
# **What you will learn**
# - Kimball's dimensional model on the taxi data: a **fact** table of trips (what is measured) and **dimensions**
#   (the zones, the payment types: what the measures are sliced by), joined in a star;
# - the **grain** (one row per trip), stated and checked, and why mixing grains breaks sums;
# - a **conformed** zone dimension: one table that green and yellow trips, pickups and dropoffs all share;
# - a **slowly changing dimension**: a zone that moves to another borough, kept as history (type 2) or overwritten
#   (type 1), and what each does to last month's report;
# - the **one big table** alternative, what it saves and what it costs; and where the dbt project's `dim_zones`,
#   `fact_trips` and mart (notebooks 01–06) fit.
#
# **What you need running:** nothing: DuckDB in memory, on one month of the sample (or real) files.

# %%
import duckdb
import pandas as pd

from zoomcamp import datasets

MONTH = "2021-01"
con = duckdb.connect()  # in memory: nothing to clean up afterwards
zones = datasets.read_csv(datasets.zones_file())
green = datasets.read_csv(datasets.trip_file("green", MONTH))
yellow = datasets.read_csv(datasets.trip_file("yellow", MONTH))
for name, frame in {"zones_csv": zones, "green": green, "yellow": yellow}.items():
    con.register(name, frame)
print(f"{len(green):,} green and {len(yellow):,} yellow trips, {len(zones)} zones")

# %% [markdown]
# ## Facts and dimensions
#
# Ralph Kimball's recipe starts from a business process, here *a taxi trip*, and splits what we know about it in two:
#
# - **facts**: the numbers the business adds up: fare, tip, total amount, distance, passengers. Many rows, narrow,
#   growing every month;
# - **dimensions**: the context they are sliced by: where (the pickup and dropoff zone, with its borough), how (the
#   payment type), when (the date), who (the vendor). Few rows, wide, descriptive, changing rarely.
#
# The fact table holds the measures and a *key* into each dimension; a report joins them: a **star** (the fact in the
# middle, one join per dimension). Two dimensions, from the zone lookup and the TLC's data dictionary:

# %%
con.execute("""CREATE TABLE dim_zones AS
    SELECT LocationID AS zone_key, Borough AS borough, Zone AS zone, service_zone FROM zones_csv""")
con.execute("""CREATE TABLE dim_payment_type AS SELECT * FROM (VALUES
    (1, 'Credit card'), (2, 'Cash'), (3, 'No charge'), (4, 'Dispute'), (5, 'Unknown'), (6, 'Voided trip'))
    AS t(payment_type_key, payment_type)""")
con.sql("SELECT * FROM dim_zones LIMIT 3")

# %% [markdown]
# ## The grain
#
# Before any column, say what **one row** of the fact table is. Here: *one trip*, identified as the dbt project does
# it (notebook 01): the service, the vendor and the pickup time. Every measure must be at that grain: a trip's total
# amount, not a day's. Put a daily summary row in the same table and every `sum()` counts that day twice.
#
# The raw files are not quite at that grain: some trips appear twice (same vendor, same pickup time), and some have no
# vendor. Keep one row per key, drop the rest, and check the grain holds:

# %%
con.execute("""CREATE TABLE fact_trips AS
WITH trips AS (
    SELECT 'Green' AS service_type, VendorID AS vendor_id, lpep_pickup_datetime AS pickup_datetime,
           lpep_dropoff_datetime AS dropoff_datetime, PULocationID AS pickup_zone_key,
           DOLocationID AS dropoff_zone_key, CAST(payment_type AS INTEGER) AS payment_type_key,
           passenger_count, trip_distance, tip_amount, total_amount
    FROM green
    UNION ALL
    SELECT 'Yellow', VendorID, tpep_pickup_datetime, tpep_dropoff_datetime, PULocationID, DOLocationID,
           CAST(payment_type AS INTEGER), passenger_count, trip_distance, tip_amount, total_amount
    FROM yellow
)
SELECT * FROM trips
WHERE vendor_id IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY service_type, vendor_id, pickup_datetime ORDER BY dropoff_datetime) = 1""")
grain = con.execute("""SELECT count(*) AS trips,
    count(DISTINCT (service_type, vendor_id, pickup_datetime)) AS distinct_keys FROM fact_trips""").df()
raw_rows = len(green) + len(yellow)
assert grain["trips"].item() == grain["distinct_keys"].item() <= raw_rows  # one row per trip: the grain holds
grain.assign(raw_rows=raw_rows)

# %% [markdown]
# ## A conformed zone dimension
#
# Green trips, yellow trips, pickups and dropoffs all use **the same** `dim_zones` (a *conformed* dimension; one table
# joined in two roles, pickup and dropoff, is a *role-playing* dimension). That is what makes reports agree: "Brooklyn"
# is the same set of zones in every fact table, mart and dashboard, so green and yellow can be put side by side
# (*drilling across*). Had each source kept its own zone list, one spelling "Staten Is." or one zone filed under another
# borough would make the two columns silently disagree.
#
# A star query: trips and revenue by pickup borough, per service, and where those trips end.

# %%
star = con.execute("""
    SELECT pickup.borough, f.service_type, count(*) AS trips, round(sum(f.total_amount), 2) AS revenue,
           round(avg(CASE WHEN dropoff.borough = pickup.borough THEN 1 ELSE 0 END), 3) AS same_borough_dropoff
    FROM fact_trips AS f
    JOIN dim_zones AS pickup ON f.pickup_zone_key = pickup.zone_key
    LEFT JOIN dim_zones AS dropoff ON f.dropoff_zone_key = dropoff.zone_key
    GROUP BY ALL ORDER BY revenue DESC""").df()

facts = con.execute("SELECT * FROM fact_trips").df()  # the same, in pandas, from the fact rows
by_borough = facts.merge(zones.rename(columns={"Borough": "borough"}), left_on="pickup_zone_key",
                         right_on="LocationID").groupby(["borough", "service_type"])["total_amount"].agg(["size", "sum"])
assert star.set_index(["borough", "service_type"])["trips"].to_dict() == by_borough["size"].to_dict()
assert (star.set_index(["borough", "service_type"])["revenue"] - by_borough["sum"]).abs().max() < 0.01
star.head(6)

# %% [markdown]
# The payment types work the same way: the fact keeps a small integer, the dimension its description.

# %%
con.sql("""SELECT p.payment_type, count(*) AS trips, round(avg(f.tip_amount), 2) AS avg_tip
           FROM fact_trips AS f JOIN dim_payment_type AS p USING (payment_type_key)
           GROUP BY ALL ORDER BY trips DESC""")

# %% [markdown]
# ## A slowly changing dimension
#
# Dimensions change, slowly: the TLC renames a zone, or redraws a boundary. Say that from 16 January the busiest green
# pickup zone belongs to another borough (a made-up change, to see what it does). Two ways to record it:
#
# - **type 1, overwrite**: `UPDATE` the zone's row. Simple, and history is rewritten: every trip of the month, also
#   those of the 1st, now reports under the new borough, and last month's report changes after the fact;
# - **type 2, keep history**: close the zone's current row (`valid_to`) and add a new *version* (`valid_from`). Each
#   trip joins the version that was valid at its pickup time, so old trips keep their old borough.
#
# (Type 3 keeps a `previous_borough` column: one step of history.)

# %%
CHANGE = pd.Timestamp(f"{MONTH}-16")
moved = int(green["PULocationID"].value_counts().idxmax())
old_borough = zones.set_index("LocationID").loc[moved, "Borough"]
new_borough = "Bronx" if old_borough != "Bronx" else "Manhattan"

con.execute("""CREATE TABLE dim_zones_history AS
    SELECT zone_key, borough, zone, TIMESTAMP '1900-01-01' AS valid_from, CAST(NULL AS TIMESTAMP) AS valid_to
    FROM dim_zones""")
con.execute("UPDATE dim_zones_history SET valid_to = ? WHERE zone_key = ? AND valid_to IS NULL", [CHANGE, moved])
con.execute("""INSERT INTO dim_zones_history
    SELECT zone_key, ?, zone, ?, NULL FROM dim_zones WHERE zone_key = ?""", [new_borough, CHANGE, moved])
con.sql("SELECT * FROM dim_zones_history WHERE zone_key = ? ORDER BY valid_from", params=[moved])

# %%
type_2 = con.execute("""
    SELECT z.borough, count(*) AS trips FROM fact_trips AS f
    JOIN dim_zones_history AS z ON f.pickup_zone_key = z.zone_key
     AND f.pickup_datetime >= z.valid_from AND (z.valid_to IS NULL OR f.pickup_datetime < z.valid_to)
    WHERE f.pickup_zone_key = ? GROUP BY ALL""", [moved]).df().set_index("borough")["trips"]
con.execute("CREATE TABLE dim_zones_type_1 AS SELECT * FROM dim_zones")
con.execute("UPDATE dim_zones_type_1 SET borough = ? WHERE zone_key = ?", [new_borough, moved])
type_1 = con.execute("""
    SELECT z.borough, count(*) AS trips FROM fact_trips AS f JOIN dim_zones_type_1 AS z
    ON f.pickup_zone_key = z.zone_key WHERE f.pickup_zone_key = ? GROUP BY ALL""", [moved]).df().set_index(
    "borough")["trips"]

trips_of_zone = facts[facts["pickup_zone_key"] == moved]
before = int((trips_of_zone["pickup_datetime"] < CHANGE).sum())
assert type_2.to_dict() == {b: n for b, n in {old_borough: before, new_borough: len(trips_of_zone) - before}.items() if n}
assert type_1.to_dict() == {new_borough: len(trips_of_zone)}
pd.DataFrame({"type 1 (overwrite)": type_1, "type 2 (history)": type_2}).fillna(0).astype(int).rename_axis(
    f"zone {moved}'s trips, by borough")

# %% [markdown]
# Type 2's join is a range join (`pickup_datetime` between `valid_from` and `valid_to`). Kimball's own way puts the
# version's *surrogate key* in the fact row when the trip is loaded, so reports join on one key again. dbt keeps this
# history with a **snapshot** (`taxi_rides_ny/snapshots/zones_snapshot.yml`: `dbt_valid_from`, `dbt_valid_to`);
# notebook 03 takes one on a changed zone.
#
# ## The one big table
#
# The other way: join everything once, when loading, into **one wide table**, every trip with its zones' names and
# boroughs and its payment type spelled out. Reports then need no joins. On a columnar warehouse (BigQuery) that is
# often the fastest and simplest thing to query: a repeated borough name compresses to almost nothing, and a BI tool
# sees one table.

# %%
con.execute("""CREATE TABLE trips_obt AS
    SELECT f.*, pickup.borough AS pickup_borough, pickup.zone AS pickup_zone,
           dropoff.borough AS dropoff_borough, dropoff.zone AS dropoff_zone, p.payment_type
    FROM fact_trips AS f
    JOIN dim_zones AS pickup ON f.pickup_zone_key = pickup.zone_key
    LEFT JOIN dim_zones AS dropoff ON f.dropoff_zone_key = dropoff.zone_key
    LEFT JOIN dim_payment_type AS p USING (payment_type_key)""")
obt = con.execute("""SELECT pickup_borough AS borough, service_type, count(*) AS trips,
    round(sum(total_amount), 2) AS revenue FROM trips_obt GROUP BY ALL""").df()
assert obt.set_index(["borough", "service_type"])["trips"].to_dict() == \
    star.set_index(["borough", "service_type"])["trips"].to_dict()  # the same report, no join

# %% [markdown]
# What it costs shows when a dimension changes. Rename one zone: the star updates **one row** of `dim_zones`; the one
# big table rewrites **every trip** from or to that zone (on BigQuery, a DML statement billed on the whole table it
# scans). And the one big table has history by accident: each row froze the names of the day it was loaded, so a fix
# to a zone's name only reaches the rows you rewrite.

# %%
renamed = int(con.execute("SELECT count(*) FROM dim_zones WHERE zone_key = ?", [moved]).fetchone()[0])
rewritten = int(con.execute("SELECT count(*) FROM trips_obt WHERE pickup_zone_key = ? OR dropoff_zone_key = ?",
                            [moved, moved]).fetchone()[0])
assert renamed == 1 and rewritten == int(((facts["pickup_zone_key"] == moved) | (facts["dropoff_zone_key"] == moved)).sum())
pd.DataFrame({"rows to update for one renamed zone": [renamed, rewritten]}, index=["star: dim_zones", "one big table"])

# %% [markdown]
# | | star (facts + dimensions) | one big table |
# | --- | --- | --- |
# | queries | a join per dimension | no joins |
# | a dimension changes | one row (type 1) or one new version (type 2) | every fact row that mentions it |
# | history | explicit, if you keep it (type 2) | frozen at load time, by accident |
# | storage | each name once | each name once per trip (cheap when columnar and compressed) |
# | who uses it | modelers, many reports on shared dimensions | one dashboard or team, read-mostly |
#
# Many projects do both: a star as the model, and wide tables or marts built from it for the tools that read them.
#
# ## Where the dbt project fits
#
# The dbt project of the next notebooks is this model, built in the warehouse:
#
# | dbt model (`taxi_rides_ny/models/`) | in this notebook |
# | --- | --- |
# | `staging/stg_green_tripdata`, `stg_yellow_tripdata` | the grain enforced: one row per vendor and pickup time, `tripid` its key |
# | `core/dim_zones` (from the zone seed) | the conformed zone dimension |
# | `core/fact_trips` | the trip fact, green and yellow; it also carries the zones' names and boroughs: a step towards the one big table, so that most reports need no join |
# | `core/dm_monthly_zone_revenue` | an aggregate mart at a coarser grain: zone × month × service |
# | `snapshots/zones_snapshot` | the zones' history: a type 2 slowly changing dimension |
#
# ## Summary
#
# - A dimensional model splits a process into facts (measures at one stated grain) and dimensions (context), joined
#   in a star; check the grain, or sums go wrong.
# - A conformed dimension (one `dim_zones` for every fact, in every role) is what makes reports agree.
# - A changing dimension is overwritten (type 1: history rewritten) or versioned (type 2: each fact sees the version
#   of its time); dbt's snapshots keep type 2 history.
# - The one big table trades joins for rewrites when a dimension changes; dbt's `fact_trips` leans that way.
#
# **Next:** [01 · Anatomy of a dbt model](01_anatomy_of_a_model.ipynb)

# %%
from zoomcamp import course

course.record("week_4_analytics_engineering/00_data_modeling.ipynb")  # this notebook ran to the end
