"""Week 2's rides API: the course's yellow rides of 2021-01 as a paginated JSON API, with failures on demand.

>>> from zoomcamp.api import RidesAPI
>>> with RidesAPI() as api:                  # FastAPI on a free port of 127.0.0.1 (uvicorn, in a thread)
...     requests.get(api.url + "/rides", params={"page": 1}).json()   # up to 1,000 rides; [] after the last page

``zoomcamp api serve`` runs the same app in the foreground. What it answers:

- ``GET /rides?page=N&page_size=M`` (pages from 1, at most 1,000 rides each, in ``ride_id`` order; the rides are
  ``api_rides`` rows spread over the month's file, see :func:`ride_frame`): a JSON list of
  rides, nested as APIs nest them — ``pickup`` / ``dropoff`` objects (time, zone), a ``payment`` object holding a
  list of ``surcharges`` — and an empty list after the last page.
- ``GET /rides?since=<ISO time>``: only the rides whose ``updated_at`` is at or after it, in ``updated_at`` order
  (inclusive, so a ride stamped in the same second as the last one seen is not missed: the client drops what it
  already has).
- Failures: ``?fail=429`` (a 429 with ``Retry-After: 1``), ``?fail=500`` or ``?fail=slow`` (a page answered after
  ``slow_seconds``) on that one request; or a schedule for every request (the ``api_faults`` setting,
  ``"429:5,500:7,slow:11"`` = every 5th request a 429, every 7th a 500, every 11th slow).

The source changes while it is served, as real ones do: :meth:`RidesAPI.advance` publishes the rides that ended by a
later time (the API shows only rides whose dropoff is at or before its clock), :meth:`RidesAPI.amend` changes a
ride (a tip added later) and stamps it with a newer ``updated_at``, :meth:`RidesAPI.add_field` starts sending a new
field (schema evolution). ``updated_at`` never goes backwards: a ride is stamped with its dropoff time, or with the
latest stamp given so far if that is later.
"""

from __future__ import annotations

import math
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from .errors import CourseError
from .settings import Settings, get_settings

MAX_PAGE_SIZE = 1_000
RETRY_AFTER = 1  # seconds; HTTP says whole seconds, and 1 keeps the lessons' retries short
FAULT_SPEC = re.compile(r"(429|500|slow):(\d+)")
SURCHARGES = {"extra": "extra", "mta_tax": "mta_tax", "improvement_surcharge": "improvement_surcharge",
              "congestion_surcharge": "congestion_surcharge", "tolls": "tolls_amount"}


class ApiError(CourseError, ValueError):
    pass


@dataclass(frozen=True)
class Faults:
    """Every Nth request answered with a failure (0 = never); ``slow_seconds`` is how long a slow page takes."""

    rate_limit_every: int = 0
    error_every: int = 0
    slow_every: int = 0
    slow_seconds: float = 1.5

    @classmethod
    def parse(cls, spec: str | None, slow_seconds: float = 1.5) -> Faults:
        """``"429:5,500:7,slow:11"`` (the ``api_faults`` setting, ``--faults``); empty = no failures."""
        every = {}
        for part in filter(None, (p.strip() for p in (spec or "").split(","))):
            match = FAULT_SPEC.fullmatch(part)
            if not match or int(match[2]) < 1:
                raise ApiError(f"api faults: {part!r} is not KIND:N with KIND 429, 500 or slow and N >= 1 "
                               '(e.g. "429:5,500:7,slow:11")')
            every[match[1]] = int(match[2])
        return cls(every.get("429", 0), every.get("500", 0), every.get("slow", 0), slow_seconds)

    def for_request(self, number: int) -> str | None:
        """The failure the ``number``-th request (from 1) gets, if any (a 429 first: it comes before any work)."""
        for kind, every in (("429", self.rate_limit_every), ("500", self.error_every), ("slow", self.slow_every)):
            if every and number % every == 0:
                return kind
        return None


def _iso(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def _naive_iso(ts) -> str | None:
    return None if ts is None or ts != ts else ts.strftime("%Y-%m-%dT%H:%M:%S")  # ts != ts: NaT


def _number(value) -> float | int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _int(value) -> int | None:
    value = _number(value)
    return None if value is None else int(value)


def parse_time(text: str) -> datetime:
    """An ISO time as the API reads it (``Z`` or an offset; a time without one is UTC)."""
    try:
        ts = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(f"since={text!r} is not an ISO time such as 2021-01-15T00:00:00Z") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def ride_frame(settings: Settings | None = None):
    """The rides the API serves, as the file's rows: ``api_rides`` rows of the yellow 2021-01 file (sample or real),
    every k-th row (k = rows // api_rides) so that they span the whole month, with ``ride_id`` = 1, 2, ... in file
    order."""
    from . import datasets

    settings = settings or get_settings()
    trips = datasets.read_csv(datasets.trip_file("yellow", "2021-01", settings=settings))
    step = max(1, len(trips) // settings.api_rides)
    trips = trips.iloc[::step].head(settings.api_rides).reset_index(drop=True)
    trips.insert(0, "ride_id", range(1, len(trips) + 1))
    return trips


def to_ride(row: dict[str, Any]) -> dict[str, Any]:
    """One TLC row as the API's nested JSON (without ``updated_at``, which the API stamps)."""
    surcharges = [{"name": name, "amount": float(row[column])} for name, column in SURCHARGES.items()
                  if _number(row[column]) not in (None, 0)]
    return {
        "ride_id": int(row["ride_id"]),
        "vendor_id": _int(row["VendorID"]),
        "pickup": {"time": _naive_iso(row["tpep_pickup_datetime"]), "zone_id": _int(row["PULocationID"])},
        "dropoff": {"time": _naive_iso(row["tpep_dropoff_datetime"]), "zone_id": _int(row["DOLocationID"])},
        "passenger_count": _int(row["passenger_count"]),
        "trip_distance": _number(row["trip_distance"]),
        "rate_code": _int(row["RatecodeID"]),
        "payment": {"type": _int(row["payment_type"]), "fare": _number(row["fare_amount"]),
                    "tip": _number(row["tip_amount"]), "total": _number(row["total_amount"]),
                    "surcharges": surcharges},
    }


class RideStore:
    """The rides and the API's clock; thread-safe (uvicorn answers from a thread pool)."""

    def __init__(self, rows: list[dict[str, Any]], until: datetime | None = None):
        self._lock = threading.Lock()
        self._rides = {r["ride_id"]: to_ride(r) for r in rows}
        self._dropoff = {r["ride_id"]: self._as_utc(r["tpep_dropoff_datetime"]) for r in rows}
        self._visible: list[int] = []  # ride ids published so far
        self._stamp = datetime.min.replace(tzinfo=UTC)  # the latest updated_at given
        self._extra: dict[str, Any] = {}  # fields added to every ride (add_field)
        self.clock: datetime | None = None  # None: every ride is published (once _published)
        self._published = False
        self.advance(until)

    @staticmethod
    def _as_utc(ts) -> datetime:
        return ts.to_pydatetime().replace(tzinfo=UTC)

    def _touch(self, ride_id: int, at: datetime) -> None:
        self._stamp = max(at, self._stamp)
        self._rides[ride_id]["updated_at"] = _iso(self._stamp)

    def advance(self, until: datetime | str | None = None) -> int:
        """Publish every ride whose dropoff is at or before ``until`` (None: all); returns how many are new."""
        until = parse_time(until) if isinstance(until, str) else until
        with self._lock:
            if until is not None and self._published and (self.clock is None or until < self.clock):
                now = "the end of the data" if self.clock is None else _iso(self.clock)
                raise ApiError(f"the API's clock is at {now}: it does not go back to {_iso(until)}")
            seen = set(self._visible)
            new = sorted((d, i) for i, d in self._dropoff.items()
                         if i not in seen and (until is None or d <= until))
            for dropoff, ride_id in new:
                self._touch(ride_id, dropoff)
            self._visible = sorted(seen | {i for _, i in new})
            self.clock, self._published = until, True
            return len(new)

    def amend(self, ride_id: int, **payment: float) -> dict[str, Any]:
        """Change a published ride's payment (e.g. ``tip=5.0``: the total moves with it), stamped one second after
        the latest ``updated_at``. Returns the ride as the API now serves it."""
        with self._lock:
            if ride_id not in set(self._visible):
                raise ApiError(f"ride {ride_id} is not published (rides 1..{len(self._rides)}, clock {self.clock})")
            ride = self._rides[ride_id]
            for key, value in payment.items():
                if key not in ("fare", "tip"):
                    raise ApiError(f"amend changes fare or tip, not {key!r}")
                ride["payment"]["total"] = round(ride["payment"]["total"] + value - ride["payment"][key], 2)
                ride["payment"][key] = value
            self._touch(ride_id, self._stamp + timedelta(seconds=1))
            return dict(ride, **self._extra)

    def add_field(self, name: str, value: Any) -> None:
        """From now on every ride carries ``name: value`` (an API adding a field: dlt adds a column)."""
        with self._lock:
            self._extra[name] = value

    def page(self, page: int, page_size: int, since: datetime | None) -> list[dict[str, Any]]:
        with self._lock:
            ids = self._visible
            if since is not None:
                stamp = _iso(since)
                ids = sorted((i for i in ids if self._rides[i]["updated_at"] >= stamp),
                             key=lambda i: (self._rides[i]["updated_at"], i))
            chosen = ids[(page - 1) * page_size: page * page_size]
            return [dict(self._rides[i], **self._extra) for i in chosen]

    def __len__(self) -> int:
        return len(self._visible)


def create_app(store: RideStore, faults: Faults = Faults()):
    """The FastAPI app over ``store``; ``app.state.requests`` counts requests per outcome (for tests and lessons)."""
    from fastapi import FastAPI, Query
    from fastapi.responses import JSONResponse
    from starlette.concurrency import run_in_threadpool

    app = FastAPI(title="zoomcamp rides API", docs_url="/docs", redoc_url=None)
    app.state.requests = Counter()
    counter = threading.Lock()
    numbered = [0]

    @app.get("/rides")
    async def rides(page: int = Query(1, ge=1), page_size: int = Query(MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
                    since: str | None = None, fail: str | None = Query(None, pattern="^(429|500|slow)$")):
        with counter:
            numbered[0] += 1
            number = numbered[0]
        failure = fail or faults.for_request(number)
        if failure == "429":
            app.state.requests["429"] += 1
            return JSONResponse({"detail": "rate limited: slow down"}, status_code=429,
                                headers={"Retry-After": str(RETRY_AFTER)})
        if failure == "500":
            app.state.requests["500"] += 1
            return JSONResponse({"detail": "internal server error (injected)"}, status_code=500)
        try:
            cutoff = parse_time(since) if since else None
        except ApiError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)
        if failure == "slow":
            app.state.requests["slow"] += 1
            await run_in_threadpool(time.sleep, faults.slow_seconds)
        app.state.requests["200"] += 1
        return await run_in_threadpool(store.page, page, page_size, cutoff)

    @app.get("/health")
    async def health():
        return {"status": "ok", "rides": len(store), "clock": store.clock and _iso(store.clock)}

    return app


class RidesAPI:
    """The rides API served by uvicorn in a background thread on 127.0.0.1 (a free port unless given). Taught in
    week_2_ingestion/05_api_by_hand.ipynb (the student's own client first).

    ``faults`` is a :class:`Faults` or a spec string; None = the ``api_faults`` setting. ``until`` publishes only
    the rides that ended by then (see :meth:`RideStore.advance`)."""

    def __init__(self, settings: Settings | None = None, *, port: int = 0, faults: Faults | str | None = None,
                 until: datetime | str | None = None, slow_seconds: float = 1.5):
        self.settings = settings or get_settings()
        rows = ride_frame(self.settings).to_dict("records")
        self.store = RideStore(rows, parse_time(until) if isinstance(until, str) else until)
        if faults is None or isinstance(faults, str):
            faults = Faults.parse(self.settings.api_faults if faults is None else faults, slow_seconds)
        self.faults = faults
        self.app = create_app(self.store, faults)
        self.port = port
        self._server = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> Counter:
        """Requests answered so far, per outcome: ``200``, ``429``, ``500``, ``slow``."""
        return self.app.state.requests

    def advance(self, until: datetime | str | None = None) -> int:
        return self.store.advance(until)

    def amend(self, ride_id: int, **payment: float) -> dict[str, Any]:
        return self.store.amend(ride_id, **payment)

    def add_field(self, name: str, value: Any) -> None:
        self.store.add_field(name, value)

    def start(self) -> RidesAPI:
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", self.port))
        except OSError:
            sock.close()
            raise ApiError(f"port {self.port} on 127.0.0.1 is in use by another program: choose another") from None
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_level="warning", server_header=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True,
                                        name=f"rides-api-{self.port}")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ApiError("the rides API did not start within 10 s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = None

    def __enter__(self) -> RidesAPI:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve(port: int = 8090, *, faults: str | None = None, until: str | None = None, slow_seconds: float = 1.5,
          settings: Settings | None = None, announce=print) -> None:
    """``zoomcamp api serve``: the API in the foreground until Ctrl+C."""
    api = RidesAPI(settings, port=port, faults=faults, until=until, slow_seconds=slow_seconds).start()
    announce(f"rides API: {api.url}/rides?page=1  ({len(api.store):,} rides; docs at {api.url}/docs)")
    if api.faults != Faults(slow_seconds=slow_seconds):
        announce(f"failures on: {api.faults}")
    try:
        while api._thread.is_alive():
            api._thread.join(timeout=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        api.stop()
