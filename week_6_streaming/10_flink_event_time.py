# %% [markdown]
# # 10 · Flink: event time, watermarks, tumbling and session windows, late rides
#
# **What you will learn**
# - **event time** (the pickup) versus processing time (when Flink sees the ride), and the **watermark**: Flink's
#   running claim "no ride older than *W* will come any more", which closes windows;
# - **tumbling windows** (fixed 15-minute buckets per pickup zone) and **session windows** (a zone's rides
#   separated by less than 30 minutes form one session);
# - **late rides**: what arrives behind the watermark is dropped, and how the watermark's delay is the price you pay
#   (in latency) to count them.
#
# Every result is checked against pandas computing the same thing on the same rides. The windows run on a
# mini-cluster inside this kernel (**zoomcamp-flink**), reading Kafka up to its end (bounded): when the input ends
# the watermark jumps to +∞ and every window still open is emitted.
#
# **What you need running:** PostgreSQL and Kafka (the next cell starts them); no Flink cluster (a mini-cluster
# runs inside this kernel).

# %%
import pandas as pd

from zoomcamp import stack, streaming
from zoomcamp.streaming import flink

stack.up(["postgres", "kafka"])
rides = streaming.load_rides("2021-01").head(2_000)
# One partition: one watermark, so which ride is late depends only on the order of the topic (with several
# partitions Flink takes the minimum of their watermarks).
streaming.recreate_topic("flink-rides-1p", partitions=1)
streaming.replay(rides, "flink-rides-1p")
env = flink.table_env()
flink.ride_source(env, "rides", "flink-rides-1p", watermark="'1' MINUTE")
print(f"{len(rides):,} rides from {rides.tpep_pickup_datetime.min()} to {rides.tpep_pickup_datetime.max()}")

# %% [markdown]
# ## Tumbling windows per pickup zone
#
# `TUMBLE(TABLE rides, DESCRIPTOR(event_time), INTERVAL '15' MINUTE)` gives each ride the window its pickup falls
# in (`window_start`, `window_end`); grouping by window and zone counts them. A window is emitted once, when the
# watermark passes its end: the result is final, never updated.

# %%
tumbling = flink.collect(env, """
    SELECT window_start, PULocationID AS zone, COUNT(*) AS rides, SUM(total_amount) AS revenue
    FROM TABLE(TUMBLE(TABLE rides, DESCRIPTOR(event_time), INTERVAL '15' MINUTE))
    GROUP BY window_start, window_end, PULocationID""")
got = tumbling.assign(revenue=tumbling.revenue.astype(float).round(2), window_start=tumbling.window_start
                      .astype("datetime64[us]")).astype({"zone": "int64", "rides": "int64"})
got = got.sort_values(["window_start", "zone"], ignore_index=True)
expected = flink.expected_windows(rides, 15)  # pandas: floor the pickup to 15 minutes, group, count, sum
pd.testing.assert_frame_equal(got, expected, check_dtype=False)
print(f"{len(got):,} (window, zone) rows, equal to pandas; the busiest:")
got.nlargest(3, "rides")

# %% [markdown]
# ## Session windows: a zone's rides with gaps under 30 minutes
#
# A session has no fixed length: it starts at a ride and grows while the next ride of the same zone comes within
# the gap; `window_end` is the last ride + the gap. Sessions are computed per key (`PARTITION BY PULocationID`).

# %%
sessions = flink.collect(env, """
    SELECT PULocationID AS zone, window_start, window_end, COUNT(*) AS rides
    FROM TABLE(SESSION(TABLE rides PARTITION BY PULocationID, DESCRIPTOR(event_time), INTERVAL '30' MINUTE))
    GROUP BY PULocationID, window_start, window_end""")
sessions = (sessions.astype({"zone": "int64", "rides": "int64"})
            .sort_values(["zone", "window_start"], ignore_index=True))

# pandas: sort each zone's pickups; a gap of more than 30 minutes starts a new session (Flink merges a ride exactly
# 30 minutes after the last: its window touches the session's).
gap = pd.Timedelta(minutes=30)
ordered = rides.sort_values(["PULocationID", "tpep_pickup_datetime"])
new_session = ((ordered.PULocationID != ordered.PULocationID.shift()).fillna(True).astype(bool)
               | (ordered.tpep_pickup_datetime.diff() > gap))
expected_sessions = (ordered.assign(session=new_session.cumsum())
                     .groupby("session").agg(zone=("PULocationID", "first"),
                                             window_start=("tpep_pickup_datetime", "min"),
                                             last=("tpep_pickup_datetime", "max"),
                                             rides=("PULocationID", "size"))
                     .reset_index(drop=True))
expected_sessions["window_end"] = expected_sessions.pop("last") + gap
assert sessions["rides"].sum() == len(rides)
pd.testing.assert_frame_equal(sessions[["zone", "window_start", "window_end", "rides"]],
                              expected_sessions[["zone", "window_start", "window_end", "rides"]], check_dtype=False)
print(f"{len(sessions):,} sessions equal pandas; the longest:")
sessions.assign(length=sessions.window_end - sessions.window_start).nlargest(3, "length")

# %% [markdown]
# ## Late rides
#
# Now 40 rides of the first day arrive again *at the end* of the topic, long after rides of later days: a phone
# that was offline, a batch upload. With a watermark 1 minute behind the latest pickup seen, their windows closed
# long ago: Flink **drops** them (the window's result was final). pandas finds the same ones: a ride is late when
# its window ended before the watermark at its arrival (the latest pickup before it, minus 1 minute).

# %%
late = rides[rides.tpep_pickup_datetime.dt.day == 1].sample(40, random_state=6)
streaming.replay(late, "flink-rides-1p")
arrived = pd.concat([rides, late], ignore_index=True)  # in topic order

window_end = arrived.tpep_pickup_datetime.dt.floor("15min") + pd.Timedelta(minutes=15)


def on_time(delay: pd.Timedelta) -> pd.DataFrame:
    watermark = arrived.tpep_pickup_datetime.cummax().shift() - delay  # before each ride arrives
    return arrived[~(window_end <= watermark)]


def flink_windows(delay_sql: str) -> pd.DataFrame:
    flink.ride_source(env, "rides", "flink-rides-1p", watermark=delay_sql)
    frame = flink.collect(env, """
        SELECT window_start, PULocationID AS zone, COUNT(*) AS rides, SUM(total_amount) AS revenue
        FROM TABLE(TUMBLE(TABLE rides, DESCRIPTOR(event_time), INTERVAL '15' MINUTE))
        GROUP BY window_start, window_end, PULocationID""")
    frame = frame.assign(revenue=frame.revenue.astype(float).round(2),
                         window_start=frame.window_start.astype("datetime64[us]"))
    return frame.astype({"zone": "int64", "rides": "int64"}).sort_values(["window_start", "zone"],
                                                                         ignore_index=True)


strict = flink_windows("'1' MINUTE")
kept = on_time(pd.Timedelta(minutes=1))
pd.testing.assert_frame_equal(strict, flink.expected_windows(kept, 15), check_dtype=False)
print(f"watermark 1 minute behind: {len(arrived) - len(kept)} late rides dropped, "
      f"{strict.rides.sum():,} counted (pandas agrees)")

# %% [markdown]
# **Allowed lateness.** Flink SQL's windows have no separate "allowed lateness": the watermark's delay *is* it.
# Declare the watermark 31 days behind and nothing in this month is late — every ride counts — but no window is
# emitted before the input ends (or 31 days of pickups later): completeness costs latency. (The DataStream API has
# `allowed_lateness`, which re-emits an updated window for late rides; the window's result is then not final.)

# %%
patient = flink_windows("'31' DAY")
assert len(on_time(pd.Timedelta(days=31))) == len(arrived)
pd.testing.assert_frame_equal(patient, flink.expected_windows(arrived, 15), check_dtype=False)
print(f"watermark 31 days behind: all {patient.rides.sum():,} rides counted, pandas agrees")

# %% [markdown]
# In a live job pick the delay from your data: how late do rides really arrive (the gap between a ride's pickup
# and the time Kafka received it)? The job script of the next notebook takes it as `--watermark-seconds`.

# %% [markdown]
# ## Summary
#
# - Event time is when the ride happened; the watermark (here the latest pickup seen minus a delay) says when a
#   window may close.
# - Tumbling windows cut time into fixed buckets; session windows group a zone's rides separated by less than a gap,
#   so their lengths follow the data. Both equal pandas' answer on the same rides.
# - A ride behind the watermark is late: dropped with a 1-minute delay, counted with a 31-day one. The delay trades
#   latency for completeness.
#
# **Next:** [11 · an upsert sink into PostgreSQL, a re-run, a restart](11_flink_upsert_sink.ipynb)

# %%
from zoomcamp import course

course.record("week_6_streaming/10_flink_event_time.ipynb")  # this notebook ran to the end
