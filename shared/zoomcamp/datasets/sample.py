"""A deterministic generator of NYC TLC-shaped data, for offline work and tests.

The output has the exact columns and types of the real files (:mod:`zoomcamp.datasets.schemas`)
and looks like them where a lesson would notice: pickups follow the day's rhythm inside the
requested month, a few zones get most of the trips, ``total_amount`` is the sum of its parts,
and the dirt of the real files is there in small shares (zero passengers, refunds with negative
amounts, rows without RatecodeID/passenger_count, dropoff before pickup, timestamps outside the
month). The same (type, month, rows, seed) always gives the same rows, byte for byte.

Zone *names* are invented (``"North Heights"``): the sample mirrors the lookup's structure
(265 IDs, boroughs, service zones, the airports at their real IDs), not its text.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .months import Month
from .schemas import (
    DROPOFF_COLUMN,
    PICKUP_COLUMN,
    TRIP_TYPES,
    UnknownTaxiType,
    arrow_schema,
    columns,
)

# Bumped whenever the generator's output changes, so cached sample files are made again.
VERSION = 4

# Shares of dirty rows, close to what the real yellow files of 2019-2021 contain.
DIRT = {
    "zero_passengers": 0.02,
    "refund": 0.005,  # every amount negative, as the TLC records a reversed trip
    "no_meter_info": 0.03,  # RatecodeID, passenger_count, store_and_fwd_flag, payment_type missing
    "dropoff_before_pickup": 0.002,
    "outside_month": 0.003,
}

AIRPORTS = {132: "JFK Airport", 138: "LaGuardia Airport"}  # their real LocationIDs
N_ZONES = 265
PAYMENT_TYPES = {
    1: "Credit card",
    2: "Cash",
    3: "No charge",
    4: "Dispute",
    5: "Unknown",
    6: "Voided trip",
}
# Share of pickups per hour of the day (quiet at 4-5 am, busiest in the evening).
_HOURLY = np.array([3, 2, 1.5, 1, 0.8, 1, 2, 3.5, 4.5, 4.5, 4.5, 4.8, 5, 5, 5.2, 5.5, 5.6, 6, 6.5, 6.5, 6, 5.5, 5, 4])
_HOURLY = _HOURLY / _HOURLY.sum()
# Relative trips per weekday, Monday first: busiest late in the week, quiet on Sundays.
_WEEKDAYS = np.array([0.95, 1.0, 1.05, 1.1, 1.12, 0.95, 0.78])


def _normalised(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()


def _rng(*key: int | str) -> np.random.Generator:
    """A generator seeded by a key, so each (type, month, seed) has its own reproducible stream."""
    ints = [k if isinstance(k, int) else int.from_bytes(k.encode(), "little") % 2**32 for k in key]
    return np.random.default_rng(ints)


# ---------------------------------------------------------------------------------------------
# Lookups


def zones_frame() -> pd.DataFrame:
    """The taxi zone lookup: LocationID 1-265, Borough, Zone, service_zone (names invented)."""
    rng = _rng("zones", 265)
    counts = {"Manhattan": 69, "Queens": 67, "Brooklyn": 61, "Bronx": 43, "Staten Island": 20}
    boroughs = np.array([name for name, count in counts.items() for _ in range(count)])
    rng.shuffle(boroughs)
    borough = ["EWR", *boroughs, "Unknown", "Unknown"]
    for airport in AIRPORTS:  # 132 and 138, in Queens
        borough.insert(airport - 1, "Queens")
    first = ["North", "South", "East", "West", "Upper", "Lower", "Old", "New", "Central", "Little", "Fort", "Port",
             "Mid", "Glen", "Green", "Stone"]
    second = ["Park", "Heights", "Village", "Hill", "Harbor", "Point", "Square", "Gardens", "Bay", "Creek",
              "Hollow", "Meadows", "Terrace", "Landing", "Ridge", "Junction", "Commons", "Flats", "Yards"]
    names = [f"{a} {b}" for a in first for b in second]
    rng.shuffle(names)
    rows = []
    pool = iter(names)  # 16 x 19 invented names, each used once
    for location_id in range(1, N_ZONES + 1):
        b = borough[location_id - 1]
        if location_id == 1:
            zone, service = "Newark Airport", "EWR"
        elif location_id in AIRPORTS:
            zone, service = AIRPORTS[location_id], "Airports"
        elif b == "Unknown":
            zone, service = ("NV" if location_id == 264 else "NA"), "N/A"
        else:
            zone = next(pool)
            # Most of Manhattan is the yellow-cab zone; a northern slice is a boro zone like the rest.
            service = "Yellow Zone" if b == "Manhattan" and location_id % 5 else "Boro Zone"
        rows.append((location_id, b, zone, service))
    return pd.DataFrame(rows, columns=[c.name for c in columns("zones")]).astype(
        {"LocationID": "int64", "Borough": "string", "Zone": "string", "service_zone": "string"}
    )


def payment_types_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"payment_type": list(PAYMENT_TYPES), "description": list(PAYMENT_TYPES.values())}
    ).astype({"payment_type": "int64", "description": "string"})


# ---------------------------------------------------------------------------------------------
# Trips


def _zone_popularity(kind: str, zones: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """Skewed pickup/dropoff probabilities: a few zones get most trips (Zipf-like), and yellow cabs
    live in Manhattan and the airports while green cabs serve the other boroughs."""
    weight = 1.0 / np.arange(1, N_ZONES + 1) ** 1.1
    rng.shuffle(weight)
    borough = zones["Borough"].to_numpy()
    favour = {
        "yellow": {"Manhattan": 12.0, "Airports": 6.0},
        "green": {"Manhattan": 0.6, "Queens": 3.0, "Brooklyn": 3.0, "Bronx": 2.0},
    }.get(kind, {"Manhattan": 2.0})
    for name, factor in favour.items():
        weight[borough == name] *= factor
    weight[(zones["service_zone"] == "Airports").to_numpy()] *= favour.get("Airports", 1.0)
    weight[borough == "Unknown"] *= 0.3
    return weight / weight.sum()


def _timestamps(month: Month, n: int, rng: np.random.Generator) -> np.ndarray:
    days = (month.end - month.start).days
    weekday = (np.arange(days) + month.start.weekday()) % 7
    day = rng.choice(days, n, p=_normalised(_WEEKDAYS[weekday]))
    hour = rng.choice(24, n, p=_HOURLY)
    second = rng.integers(0, 3600, n)
    offsets = day * 86_400 + hour * 3600 + second
    return np.datetime64(month.start, "s") + offsets.astype("timedelta64[s]")


def _money(x: np.ndarray) -> np.ndarray:
    return np.round(x, 2)


def _trip_core(kind: str, month: Month, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """What every trip type shares: times, zones, distance."""
    zones = zones_frame()
    popularity = _zone_popularity(kind, zones, rng)
    pickup = _timestamps(month, n, rng)
    distance = np.clip(rng.lognormal(np.log(1.9), 0.85, n), 0.01, 80.0)
    distance[rng.random(n) < 0.01] = 0.0  # trips that never moved
    minutes = 2 + distance * rng.uniform(2.8, 6.0, n) + rng.gamma(2.0, 1.5, n)
    dropoff = pickup + (minutes * 60).astype("timedelta64[s]")
    pu = rng.choice(np.arange(1, N_ZONES + 1), n, p=popularity)
    do = rng.choice(np.arange(1, N_ZONES + 1), n, p=popularity)

    # Dirt in times: dropoff before pickup, and pickups outside the requested month (a day or two
    # around it, or with the year mistyped as 2008).
    swap = rng.random(n) < DIRT["dropoff_before_pickup"]
    pickup[swap], dropoff[swap] = dropoff[swap], pickup[swap]
    duration = dropoff - pickup
    outside = rng.random(n) < DIRT["outside_month"]
    seconds = rng.integers(1, 2 * 86_400, n).astype("timedelta64[s]")
    start, end = np.datetime64(month.start, "s"), np.datetime64(month.end, "s")
    moved = np.where(rng.random(n) < 0.5, start - seconds, end + seconds)
    typo_year = pickup - np.timedelta64(int((month.year - 2008) * 365.25 * 86_400), "s")
    moved = np.where(rng.random(n) < 0.15, typo_year, moved)
    pickup = np.where(outside, moved, pickup)
    dropoff = pickup + duration
    return {"pickup": pickup, "dropoff": dropoff, "distance": np.round(distance, 2), "minutes": minutes,
            "pu": pu, "do": do, "zones": zones}


def _metered(kind: str, month: Month, n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Yellow and green trips: metered fares, surcharges, tips, and the dirt of the real files."""
    core = _trip_core(kind, month, n, rng)
    pickup, distance, minutes = core["pickup"], core["distance"], core["minutes"]
    hours = (pickup.astype("datetime64[h]").astype(np.int64) % 24)
    weekday = (pickup.astype("datetime64[D]").astype(np.int64) + 3) % 7  # 0 = Monday
    zones = core["zones"].set_index("LocationID")
    pu_borough = zones.loc[core["pu"], "Borough"].to_numpy()
    do_borough = zones.loc[core["do"], "Borough"].to_numpy()
    pu_airport = np.isin(core["pu"], list(AIRPORTS))

    ratecode = rng.choice([1, 2, 3, 4, 5, 99], n, p=[0.955, 0.025, 0.004, 0.003, 0.0125, 0.0005]).astype(float)
    fare = np.ceil((3.0 + 2.5 * distance + 0.35 * minutes) * 2) / 2
    fare = np.where(ratecode == 2, 52.0, fare)  # JFK flat fare
    night = (hours >= 20) | (hours < 6)
    peak = (hours >= 16) & (hours < 20) & (weekday < 5)
    extra = np.where(night, 0.5, 0.0) + np.where(peak, 1.0, 0.0)
    mta_tax = np.full(n, 0.5)
    improvement = np.full(n, 0.3)
    congestion = np.where((pu_borough == "Manhattan") | (do_borough == "Manhattan"), 2.5, 0.0)
    if month.year < 2019:
        congestion[:] = 0.0  # the congestion surcharge started in February 2019
    tolls = np.where(rng.random(n) < 0.05, rng.choice([6.12, 6.55, 11.75], n), 0.0)
    payment = rng.choice(list(PAYMENT_TYPES), n, p=[0.70, 0.27, 0.015, 0.01, 0.0049, 0.0001]).astype(float)
    tip_share = rng.choice([0.0, 0.1, 0.15, 0.2, 0.25, 0.3], n, p=[0.1, 0.1, 0.2, 0.4, 0.1, 0.1])
    tip = np.where(payment == 1, _money((fare + extra) * tip_share), 0.0)
    airport_fee = np.where(pu_airport & (month.year >= 2022), 1.25, 0.0)
    passengers = rng.choice([1, 2, 3, 4, 5, 6], n, p=[0.72, 0.14, 0.04, 0.02, 0.05, 0.03]).astype(float)
    passengers[rng.random(n) < DIRT["zero_passengers"]] = 0.0
    flag = np.where(rng.random(n) < 0.01, "Y", "N").astype(object)
    vendor = rng.choice([1, 2], n, p=[0.3, 0.7])

    # Refunds: the TLC records them with every amount negative.
    refund = rng.random(n) < DIRT["refund"]
    parts = [fare, extra, mta_tax, tip, tolls, improvement, congestion, airport_fee]
    for part in parts:
        part[refund] = -part[refund]
    parts = [_money(p) for p in parts]
    fare, extra, mta_tax, tip, tolls, improvement, congestion, airport_fee = parts
    total = _money(sum(parts))

    # Rows without meter information (street-hail records that lost their trip details).
    no_info = rng.random(n) < DIRT["no_meter_info"]
    ratecode[no_info] = np.nan
    passengers[no_info] = np.nan
    flag[no_info] = None
    payment[no_info] = np.nan

    pickup_col, dropoff_col = PICKUP_COLUMN[kind], DROPOFF_COLUMN[kind]
    data = {
        "VendorID": vendor,
        pickup_col: core["pickup"],
        dropoff_col: core["dropoff"],
        "passenger_count": passengers,
        "trip_distance": distance,
        "RatecodeID": ratecode,
        "store_and_fwd_flag": flag,
        "PULocationID": core["pu"],
        "DOLocationID": core["do"],
        "payment_type": payment,
        "fare_amount": fare,
        "extra": extra,
        "mta_tax": mta_tax,
        "tip_amount": tip,
        "tolls_amount": tolls,
        "ehail_fee": np.full(n, np.nan),
        "improvement_surcharge": improvement,
        "total_amount": total,
        "congestion_surcharge": congestion,
        "airport_fee": airport_fee,
        "trip_type": np.where(rng.random(n) < 0.97, 1.0, 2.0),
    }
    data["trip_type"][no_info] = np.nan
    return pd.DataFrame({c.name: data[c.name] for c in columns(kind)})


def _fhv(kind: str, month: Month, n: int, rng: np.random.Generator) -> pd.DataFrame:
    core = _trip_core(kind, month, n, rng)
    bases = np.array([f"B{b:05d}" for b in rng.choice(np.arange(10, 3200), 40, replace=False)])
    base = rng.choice(bases, n, p=_zipf(len(bases)))
    if kind == "fhv":
        pu = core["pu"].astype(float)
        do = core["do"].astype(float)
        pu[rng.random(n) < 0.2] = np.nan  # many FHV records lack a pickup zone
        do[rng.random(n) < 0.05] = np.nan
        return pd.DataFrame({
            "dispatching_base_num": base,
            "pickup_datetime": core["pickup"],
            "dropOff_datetime": core["dropoff"],
            "PUlocationID": pu,
            "DOlocationID": do,
            "SR_Flag": np.where(rng.random(n) < 0.05, 1.0, np.nan),
            "Affiliated_base_number": np.where(rng.random(n) < 0.9, base, None),
        })
    # fhvhv: ride-hailing apps (HV0003 Uber, HV0005 Lyft, HV0004 Via, HV0002 Juno).
    license_num = rng.choice(["HV0003", "HV0005", "HV0004", "HV0002"], n, p=[0.72, 0.26, 0.015, 0.005])
    wait = rng.gamma(2.0, 150.0, n).astype("timedelta64[s]")
    request = core["pickup"] - wait
    on_scene = np.where(license_num == "HV0005", core["pickup"] - (wait // 3), np.datetime64("NaT"))
    trip_time = np.abs((core["dropoff"] - core["pickup"]).astype(np.int64))
    fare = _money(2.5 + 1.3 * core["distance"] + 0.45 * trip_time / 60 + rng.normal(0, 2, n).clip(-2, 8))
    fare[rng.random(n) < DIRT["refund"]] *= -1
    yes_no = lambda p: np.where(rng.random(n) < p, "Y", "N")  # noqa: E731
    frame = pd.DataFrame({
        "hvfhs_license_num": license_num,
        "dispatching_base_num": base,
        "originating_base_num": np.where(license_num == "HV0003", base, None),
        "request_datetime": request,
        "on_scene_datetime": on_scene,
        "pickup_datetime": core["pickup"],
        "dropoff_datetime": core["dropoff"],
        "PULocationID": core["pu"],
        "DOLocationID": core["do"],
        "trip_miles": core["distance"],
        "trip_time": trip_time,
        "base_passenger_fare": fare,
        "tolls": np.where(rng.random(n) < 0.05, 6.94, 0.0),
        "bcf": _money(np.abs(fare) * 0.025),
        "sales_tax": _money(np.abs(fare) * 0.08875),
        "congestion_surcharge": np.where(rng.random(n) < 0.4, 2.75, 0.0),
        "airport_fee": np.where(np.isin(core["pu"], list(AIRPORTS)), 2.5, 0.0),
        "tips": np.where(rng.random(n) < 0.15, _money(np.abs(fare) * 0.15), 0.0),
        "driver_pay": _money(np.abs(fare) * 0.75),
        "shared_request_flag": yes_no(0.02),
        "shared_match_flag": yes_no(0.005),
        "access_a_ride_flag": np.where(license_num == "HV0005", yes_no(0.001), " "),
        "wav_request_flag": yes_no(0.003),
        "wav_match_flag": yes_no(0.05),
    })
    # The CSV layout's flag (only in the CSV files): 1 for a shared-ride request, else empty.
    frame["SR_Flag"] = np.where(frame["shared_request_flag"] == "Y", 1.0, np.nan)
    return frame


def _zipf(k: int) -> np.ndarray:
    w = 1.0 / np.arange(1, k + 1)
    return w / w.sum()


def trips_frame(kind: str, month: Month | str, rows: int, seed: int = 42) -> pd.DataFrame:
    """``rows`` sample trips of one type and month, sorted by pickup time, in the TLC's columns."""
    if kind not in TRIP_TYPES:
        raise UnknownTaxiType(f"unknown taxi type {kind!r}; choose one of: {', '.join(TRIP_TYPES)}")
    month = Month.of(month)
    rng = _rng(seed, kind, month.year, month.month)
    make = _metered if kind in ("yellow", "green") else _fhv
    frame = make(kind, month, rows, rng)
    frame = frame.sort_values(PICKUP_COLUMN[kind], kind="stable", ignore_index=True)
    return frame


def to_arrow(frame: pd.DataFrame, kind: str) -> pa.Table:
    """The frame as an Arrow table with exactly the TLC parquet schema of ``kind``."""
    return pa.Table.from_pandas(frame, schema=arrow_schema(kind), preserve_index=False)


# ---------------------------------------------------------------------------------------------
# Files

# Counts stored as doubles in parquet are written as integers in the TLC's CSV files ("1", not "1.0").
_CSV_INTEGERS = (
    "passenger_count", "RatecodeID", "payment_type", "trip_type", "PUlocationID", "DOlocationID", "SR_Flag",
)


def csv_bytes(frame: pd.DataFrame, kind: str) -> bytes:
    """The frame as the TLC writes CSV: its CSV columns, ``YYYY-MM-DD HH:MM:SS``, empty for missing."""
    out = frame[[c.name for c in columns(kind, fmt="csv")]].copy()
    for name in _CSV_INTEGERS:
        if name in out:
            out[name] = out[name].astype("Int64")
    quoting = 2 if kind == "zones" else 0  # the TLC's zone lookup quotes its text (csv.QUOTE_NONNUMERIC)
    return out.to_csv(index=False, date_format="%Y-%m-%d %H:%M:%S", quoting=quoting, lineterminator="\n").encode()


def write_csv_gz(data: bytes, path: Path) -> None:
    # mtime=0 keeps the gzip header, and so the file's checksum, the same on every run.
    with open(path, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(data)


def write_parquet(table: pa.Table, path: Path) -> None:
    # zstd, and delta encoding for the (mostly sorted) timestamps: smaller than the CSV.gz, as parquet should be.
    times = [f.name for f in table.schema if pa.types.is_timestamp(f.type)]
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd",
                   use_dictionary=[n for n in table.column_names if n not in times],
                   column_encoding={n: "DELTA_BINARY_PACKED" for n in times})
    path.write_bytes(buffer.getvalue())
