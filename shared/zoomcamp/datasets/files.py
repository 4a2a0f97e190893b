"""Where TLC files live on disk, their manifest, and the sample files.

Layout under the data folder (``Settings.data_path``)::

    sample/   files made by the generator   (yellow_tripdata_2021-01.csv.gz, taxi_zone_lookup.csv, ...)
    tlc/      files downloaded from the TLC and the DataTalksClub backups

Each folder has a ``manifest.json``: for every file its size, SHA-256 and where it came from, so a
file is made or downloaded once and a changed or truncated file is noticed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from ..settings import Settings, get_settings
from .months import Month
from .schemas import TRIP_TYPES, UnknownTaxiType

TRIP_FORMATS = ("csv.gz", "parquet")
ZONES_FILE = "taxi_zone_lookup.csv"
PAYMENT_TYPES_FILE = "payment_type_lookup.csv"


def trip_file_name(kind: str, month: Month | str, fmt: str = "csv.gz") -> str:
    if kind not in TRIP_TYPES:
        raise UnknownTaxiType(f"unknown taxi type {kind!r}; choose one of: {', '.join(TRIP_TYPES)}")
    if fmt not in TRIP_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of: {', '.join(TRIP_FORMATS)}")
    month = Month.of(month)
    return f"{kind}_tripdata_{month}.{fmt}"


def sha256(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class Manifest:
    """``manifest.json`` in a data folder: one record per file (size, sha256, and how it was made)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder / "manifest.json"

    def load(self) -> dict[str, dict]:
        if not self.path.is_file():
            return {}
        try:
            return json.loads(self.path.read_text())
        except json.JSONDecodeError:
            return {}  # a damaged manifest only costs a re-check of the files

    def get(self, name: str) -> dict | None:
        return self.load().get(name)

    def record(self, name: str, **info) -> dict:
        path = self.folder / name
        entry = {"size": path.stat().st_size, "sha256": sha256(path), **info}
        entries = self.load()
        entries[name] = entry
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(entries, indent=2, sort_keys=True))
        os.replace(tmp, self.path)  # atomic: a crash never leaves half a manifest
        return entry

    def is_current(self, name: str, *, verify: bool = False, **info) -> bool:
        """True if the file exists, matches its record's size (and checksum with ``verify``), and was
        made with the same ``info`` (e.g. rows and seed of a sample)."""
        entry = self.get(name)
        path = self.folder / name
        if not entry or not path.is_file() or path.stat().st_size != entry["size"]:
            return False
        if any(entry.get(k) != v for k, v in info.items()):
            return False
        return not verify or sha256(path) == entry["sha256"]


def sample_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_path / "sample"


def _write_atomically(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def write_sample_lookups(settings: Settings | None = None) -> list[Path]:
    """The zone lookup and payment types, as CSV (as the TLC publishes the zones)."""
    from . import sample

    folder = sample_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(folder)
    paths = []
    for name, kind, frame in (
        (ZONES_FILE, "zones", sample.zones_frame),
        (PAYMENT_TYPES_FILE, "payment_types", sample.payment_types_frame),
    ):
        path = folder / name
        if not manifest.is_current(name, source="sample", generator=sample.VERSION):
            data = sample.csv_bytes(frame(), kind)
            _write_atomically(path, lambda p, data=data: p.write_bytes(data))
            manifest.record(name, source="sample", generator=sample.VERSION)
        paths.append(path)
    return paths


def write_sample_trips(
    kinds: Iterable[str],
    months: Iterable[Month],
    *,
    rows: int | None = None,
    seed: int | None = None,
    formats: Iterable[str] = TRIP_FORMATS,
    settings: Settings | None = None,
) -> list[Path]:
    """Generate trip files (CSV.gz and/or parquet) unless the same ones are already there.

    Returns the paths; files already made with the same rows and seed are not rewritten. Without ``rows``
    (``settings.sample_rows``), a month the student made with explicit rows (``zoomcamp data sample --rows N``) is
    kept as it is, CSV and parquet alike: the next ``lake ingest`` used to write the CSV back at the default size.
    """
    from . import sample

    settings = settings or get_settings()
    explicit = rows is not None
    rows = settings.sample_rows if rows is None else rows
    seed = settings.sample_seed if seed is None else seed
    kinds, months, formats = list(kinds), list(months), list(formats)
    for kind in kinds:  # validate everything before writing anything
        for fmt in formats:
            trip_file_name(kind, Month(2021, 1), fmt)
    folder = sample_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(folder)
    paths = []
    for kind in kinds:
        for month in months:
            names = {fmt: trip_file_name(kind, month, fmt) for fmt in formats}
            made_as = {"rows": rows, "seed": seed, "generator": sample.VERSION}

            def current(name: str, made_as=made_as) -> bool:
                if manifest.is_current(name, **made_as):
                    return True
                chosen = manifest.get(name) or {}  # the student's own --rows stands until they choose again
                return (not explicit and chosen.get("explicit_rows", False)
                        and manifest.is_current(name, seed=seed, generator=sample.VERSION))

            todo = [fmt for fmt, name in names.items() if not current(name)]
            if todo:
                frame = sample.trips_frame(kind, month, rows, seed)
                for fmt in todo:
                    path = folder / names[fmt]
                    if fmt == "csv.gz":
                        data = sample.csv_bytes(frame, kind)
                        _write_atomically(path, lambda p, data=data: sample.write_csv_gz(data, p))
                    else:
                        table = sample.to_arrow(frame, kind)
                        _write_atomically(path, lambda p, table=table: sample.write_parquet(table, p))
                    manifest.record(names[fmt], source="sample", explicit_rows=explicit, **made_as)
            paths.extend(folder / names[fmt] for fmt in formats)
    return paths
