# %% [markdown]
# # 02 · Sources, ref and seeds
#
# **What you will learn**
# - declaring the raw tables as **sources** (`sources.yml`), and reading them with `source()`;
# - **freshness**: how dbt tells you the raw data has stopped arriving;
# - `ref()`: how models name each other, and how dbt derives the build order (and `--select` with `+`) from it;
# - **seeds**: small CSV files (the zone lookup, payment types) loaded as tables, with their column types.
#
# **What you need running:** the local stack. The next cell starts it and loads the raw trips (as in notebook 01).

# %%
from zoomcamp import datasets, dbt, stack
from zoomcamp.exercises import check

stack.up()
TARGET = "dev"
dbt.load_raw(TARGET);

# %% [markdown]
# ## Sources
#
# A model never writes `trips_data_all.green_tripdata` by hand: it writes `{{ source('trips_data_all', 'green_tripdata') }}`.
# The source is declared once, in YAML, with its schema, a description, tests and a freshness rule. Moving the raw
# data to another schema (or BigQuery project) then means changing one line, and the lineage graph knows where the
# data comes from.

# %%
print((dbt.PROJECT_DIR / "models" / "staging" / "sources.yml").read_text())

# %% [markdown]
# ## Freshness
#
# `loaded_at_field` names the column that says how recent a record is; `dbt source freshness` asks each table for its
# newest value and compares its age with `warn_after` / `error_after`. A scheduler runs it before the nightly build:
# stale raw data should stop the pipeline, not produce a dashboard that silently shows last month.
#
# Our data is from January 2021, so both tables are far past `error_after` (30 days): the command reports **error**,
# as it should. (The FHV source has `freshness: null`: not checked.)

# %%
freshness = dbt.run("source", "freshness", target=TARGET)
print(freshness)
table = freshness.table()
assert not freshness.success and set(table["status"]) == {"error"}
assert set(table["name"]) == {"green_tripdata", "yellow_tripdata"}
table[["name", "status", "message"]]

# %% [markdown]
# The newest record dbt found is the latest pickup time in each file, checked here with pandas:

# %%
for kind, column in (("green", "lpep_pickup_datetime"), ("yellow", "tpep_pickup_datetime")):
    newest = datasets.read_csv(datasets.trip_file(kind, "2021-01"))[column].max()
    message = table.set_index("name").loc[f"{kind}_tripdata", "message"]
    assert f"{newest:%Y-%m-%d %H:%M}" in message, (newest, message)
    print(f"{kind}: newest pickup {newest}")

# %% [markdown]
# ## ref() and the build order
#
# `{{ ref('stg_green_tripdata') }}` compiles to the table or view that model builds (`"ny_taxi"."dbt_dev"."stg_green_tripdata"`
# on this target) and records an edge in the graph. From the edges, dbt builds parents before children, and the
# selection syntax can follow them: `+fact_trips` is fact_trips and everything upstream, `stg_green_tripdata+` the model
# and everything downstream. `dbt ls` lists a selection without running it.

# %%
upstream = dbt.run("ls", "--select", "+fact_trips", "--resource-type", "model", "--output", "name", target=TARGET)
downstream = dbt.run("ls", "--select", "stg_green_tripdata+", "--resource-type", "model", "--output", "name",
                     target=TARGET)
assert sorted(upstream.result) == ["dim_zones", "fact_trips", "int_trips_unioned", "stg_green_tripdata",
                                   "stg_yellow_tripdata"]
assert sorted(downstream.result) == ["dm_monthly_zone_revenue", "fact_trips", "int_trips_unioned", "stg_green_tripdata"]
print("+fact_trips:         ", sorted(upstream.result))
print("stg_green_tripdata+: ", sorted(downstream.result))

# %% [markdown]
# ## Seeds
#
# A seed is a CSV file in `seeds/` that `dbt seed` loads as a table: for small, rarely changing lookups that belong with
# the code (here the taxi zones and the payment types). The course writes them from its own data when dbt runs
# (`dbt.write_seeds`, from `datasets.zones_file()`), so they are not committed.

# %%
paths = dbt.write_seeds()
print(paths[0].read_text()[:300])

# %% [markdown]
# dbt would guess each column's type from the values. Guesses go wrong (a zip code read as a number loses its leading
# zero), so `seeds/properties.yml` sets them — with a little Jinja, because BigQuery calls text `string`:

# %%
print((dbt.PROJECT_DIR / "seeds" / "properties.yml").read_text())

# %%
seeded = dbt.run("seed", target=TARGET)
print(seeded)
types = dbt.query("""
    SELECT column_name, data_type FROM information_schema.columns
    WHERE table_schema = 'dbt_dev' AND table_name = 'taxi_zone_lookup' ORDER BY ordinal_position
""", TARGET)
assert dict(zip(types["column_name"], types["data_type"])) == {
    "locationid": "integer", "borough": "text", "zone": "text", "service_zone": "text"}
types

# %% [markdown]
# The seed table holds exactly the CSV, including the zone *named* "NA" (a value, not a missing one):

# %%
zones = datasets.read_csv(datasets.zones_file())
seed = dbt.query("SELECT * FROM dbt_dev.taxi_zone_lookup ORDER BY locationid", TARGET)
assert len(seed) == len(zones) and seed["zone"].notna().all()
assert seed.astype(str).values.tolist() == zones.astype(str).values.tolist()
seed.tail(3)

# %% [markdown]
# ## Exercise 2
#
# `dim_zones` renames the service zone "Boro Zone" (where green cabs may pick up) to "Green Zone". How many zones are in
# the Green Zone? Answer with a number, from `dbt_dev.dim_zones` (build it first with `dbt.run("build", "--select",
# "dim_zones", target=TARGET)`).

# %%
my_answer = None

# %%
expected_green = int((zones["service_zone"] == "Boro Zone").sum())
check(my_answer, expected_green)

# %% jupyter={"source_hidden": true} tags=["solution"]
assert dbt.run("build", "--select", "dim_zones", target=TARGET).success
solution = int(dbt.query("SELECT count(*) AS n FROM dbt_dev.dim_zones WHERE service_zone = 'Green Zone'", TARGET)["n"][0])
assert check(solution, expected_green)
solution

# %% [markdown]
# ## Summary
#
# - Sources declare the raw tables once (schema, docs, tests, freshness); models read them with `source()`.
# - `dbt source freshness` fails when the newest record is too old: run it before a scheduled build.
# - `ref()` is how models name each other; dbt derives the build order and the `+` selections from it.
# - Seeds load small CSV lookups, with column types set in YAML rather than guessed.
#
# **Next:** [03 · Materializations: view, table, incremental, ephemeral](03_materializations.ipynb)

# %%
from zoomcamp import course

course.record("week_4_analytics_engineering/02_sources_refs_seeds.ipynb")  # this notebook ran to the end
