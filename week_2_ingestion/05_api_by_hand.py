# %% [markdown]
# # 05 · Extracting from an API, by hand
#
# **What you will learn**
# - what a paginated REST API answers: pages of nested JSON, an empty page at the end;
# - a `requests` loop over the pages, measured;
# - what breaks it: a 429 (rate limit, with `Retry-After`), a 500, a slow page, a page changing under you;
# - retries with backoff, written by hand, and what they cost;
# - flattening nested JSON into tables yourself — the work notebook 06 hands to dlt.
#
# **What you need running:** nothing else: the course's rides API starts inside this notebook, on a free port of
# 127.0.0.1 (`RidesAPI`, [shared/zoomcamp/api.py](../shared/zoomcamp/api.py); `zoomcamp api serve` runs the same
# in a terminal).

# %%
import json
import time

import pandas as pd
import requests

from zoomcamp import datasets
from zoomcamp.api import RidesAPI
from zoomcamp.exercises import check

api = RidesAPI(faults="").start()  # no injected failures, yet
print(api.url)

# %% [markdown]
# ## What the API answers
#
# `GET /rides?page=1` returns up to 1,000 rides of the course's yellow 2021-01 data, in `ride_id` order. Each ride is
# nested the way APIs nest things: a `pickup` and a `dropoff` object, a `payment` object holding a *list* of
# surcharges. `updated_at` says when the source last changed the ride.

# %%
first = requests.get(f"{api.url}/rides", params={"page": 1, "page_size": 2}, timeout=10).json()
print(json.dumps(first[0], indent=1))


# %% [markdown]
# ## The loop everyone writes first
#
# Ask for page 1, 2, 3, ... until a page comes back empty.

# %%
def naive_extract(url: str) -> list:
    rides, page = [], 1
    while True:
        batch = requests.get(f"{url}/rides", params={"page": page}, timeout=10).json()
        if not batch:
            return rides
        rides += batch
        page += 1


started = time.perf_counter()
rides = naive_extract(api.url)
seconds = time.perf_counter() - started

# The same rides, computed independently from the file the API serves: every k-th row, so they span the month.
month = datasets.read_csv(datasets.trip_file("yellow", "2021-01"))
trips = month.iloc[:: max(1, len(month) // len(rides))].head(len(rides))
assert [r["ride_id"] for r in rides] == list(range(1, len(trips) + 1))
assert abs(sum(r["payment"]["total"] for r in rides) - trips["total_amount"].sum()) < 0.01
pd.Series({"rides": len(rides), "requests": api.requests["200"], "seconds": round(seconds, 2),
           "rides per second": round(len(rides) / seconds)}, dtype=object)

# %% [markdown]
# ## What breaks it
#
# Real APIs limit how fast you may call them and fail now and then. The course's API injects both on demand: here
# every 3rd request gets a **429 Too Many Requests** (with `Retry-After: 1`, "try again in a second") and every 5th
# a **500**. The naive loop does not look at status codes:

# %%
flaky = RidesAPI(faults="429:3,500:5").start()
broken = naive_extract(flaky.url)
not_rides = [r for r in broken if not isinstance(r, dict)]
ids = {r["ride_id"] for r in broken if isinstance(r, dict)}
assert len(ids) < len(trips) and not_rides  # pages skipped, and error bodies taken for data
pd.Series({"rides expected": len(trips), "rides extracted": len(ids), "junk items": len(not_rides),
           "errors answered": flaky.requests["429"] + flaky.requests["500"]})


# %% [markdown]
# No exception, and the result is wrong twice over: an error body (`{"detail": "..."}`) was added to the list (`+=`
# on a dict adds its keys: the `junk items`), and the page that failed was skipped. The first fix is to **fail loudly**
# (`response.raise_for_status()`); the second is to **retry** what is worth retrying:
#
# - **429**: wait as long as `Retry-After` says, then ask again;
# - **5xx** and timeouts: wait a little, then longer (exponential backoff), a few times, then give up;
# - **4xx** other than 429: a bug in the request — retrying will not help.
#
# A slow page is the third failure: without a `timeout`, `requests` waits forever. This time the API answers every
# 4th request with a 429, every 7th with a 500 and every 5th after 1 second; the loop gives each request 0.5 s.

# %%
def get_page(url: str, page: int, log: list, *, attempts: int = 5, timeout: float = 0.5, backoff: float = 0.2):
    for attempt in range(1, attempts + 1):
        try:
            response = requests.get(f"{url}/rides", params={"page": page}, timeout=timeout)
        except requests.Timeout:
            reason, wait = "timeout", backoff * 2 ** attempt
        else:
            if response.status_code == 429:
                reason, wait = "429", float(response.headers.get("Retry-After", 1))
            elif response.status_code >= 500:
                reason, wait = str(response.status_code), backoff * 2 ** attempt
            else:
                response.raise_for_status()  # any other error: a bug, not bad luck
                return response.json()
        log.append({"page": page, "attempt": attempt, "failure": reason, "wait s": wait})
        time.sleep(wait)
    raise RuntimeError(f"page {page}: still failing after {attempts} attempts")


def extract(url: str, log: list) -> list:
    rides, page = [], 1
    while batch := get_page(url, page, log):
        rides += batch
        page += 1
    return rides


flaky.stop()
flaky = RidesAPI(faults="429:4,500:7,slow:5", slow_seconds=1.0).start()
log = []
started = time.perf_counter()
rides = extract(flaky.url, log)
seconds = time.perf_counter() - started
assert [r["ride_id"] for r in rides] == list(range(1, len(trips) + 1))
print(f"{len(rides):,} rides in {seconds:.1f} s ({len(rides) / seconds:,.0f} rides/s), "
      f"{sum(e['wait s'] for e in log):.1f} s of it waiting")
pd.DataFrame(log)

# %% [markdown]
# Every ride, exactly once, and most of the time spent waiting — as it should be: a client that does not wait when
# told to gets rate-limited harder (or banned).
#
# ## A page changing under you
#
# Pages are offsets into an ordering. If the source changes between two page requests, the offsets move. Ask for the
# rides changed since a time (`since=`, ordered by `updated_at`), and let the source update a ride of page 1 after
# you read it: the updated ride moves to the end, every later ride moves up one place, and one ride slides from
# page 2 into page 1 — which you already read.

# %%
flaky.stop()
since = {"since": "2000-01-01T00:00:00Z"}
pages = [requests.get(f"{api.url}/rides", params={"page": 1, **since}, timeout=10).json()]
api.amend(pages[0][10]["ride_id"], tip=3.0)  # the source changes a ride you have already read
page = 2
while batch := requests.get(f"{api.url}/rides", params={"page": page, **since}, timeout=10).json():
    pages.append(batch)
    page += 1
seen = [r["ride_id"] for p in pages for r in p]
missed = sorted(set(range(1, len(trips) + 1)) - set(seen))
twice = sorted(i for i in set(seen) if seen.count(i) > 1)
assert len(missed) == 1 and len(twice) == 1
pd.Series({"rides read": len(seen), "distinct": len(set(seen)), "missed": missed, "read twice": twice})

# %% [markdown]
# Nothing failed and the count even looks right. The cures: page in an order that changes cannot move (`ride_id`
# here: an update changes a ride, not its place), or page with a cursor the server hands out (keyset pagination:
# "after this `updated_at` and id") rather than page numbers; and load by **primary key** so that a ride read twice
# is kept once (notebook 07's merge).
#
# ## Flattening nested JSON yourself
#
# A table needs flat columns. `pd.json_normalize` flattens the objects (`pickup.time`); the list of surcharges is
# one-to-many and needs a table of its own, keyed by its ride.

# %%
rides = naive_extract(api.url)  # the fault-free API, in ride_id order
flat = pd.json_normalize(rides).drop(columns="payment.surcharges")
surcharges = pd.json_normalize(rides, record_path=["payment", "surcharges"], meta=["ride_id"])
assert len(flat) == len(trips) and set(surcharges["ride_id"]) <= set(flat["ride_id"])
print(flat.columns.tolist())
surcharges.head(3)

# %% [markdown]
# That works for today's API. Tomorrow a field is added, a number arrives as text, a list appears inside the list —
# and the loop, the retries, the flattening, the column types, the table creation and remembering where you stopped
# are all yours to maintain. Notebook 06 hands them to **dlt**.
#
# ## Exercise 5
#
# How many of the API's rides carry a `congestion_surcharge` in their `payment.surcharges` list? Count it from the
# `surcharges` table above.

# %%
my_answer = None  # a number of rides

# %%
check(my_answer, int((trips["congestion_surcharge"].fillna(0) != 0).sum()))

# %% jupyter={"source_hidden": true} tags=["solution"]
solution = surcharges.loc[surcharges["name"] == "congestion_surcharge", "ride_id"].nunique()
assert check(solution, int((trips["congestion_surcharge"].fillna(0) != 0).sum()))

# %%
api.stop()

# %% [markdown]
# ## Summary
#
# - A paginated API is a loop until an empty page; check every response's status, and give every request a timeout.
# - Retry what is worth retrying: 429 after `Retry-After`, 5xx and timeouts with exponential backoff, then give up
#   loudly. Waiting is most of the time a polite client spends.
# - Offsets over an ordering that changes skip and repeat rows silently: page by an immutable key or a server cursor,
#   and load by primary key.
# - Nested objects flatten into columns; lists become child tables keyed by their parent.
#
# **Next:** [06 · Loading an API with dlt](06_dlt.ipynb)

# %%
from zoomcamp import course

course.record("week_2_ingestion/05_api_by_hand.ipynb")  # this notebook ran to the end
