"""Download the real TLC files: progress bar, resume, checksum record, cache, clear errors.

Sources: the TLC's own parquet files, and the CSV.gz backups that DataTalksClub keeps in the
``nyc-tlc-data`` GitHub releases (the TLC no longer publishes CSV). Both base URLs are settings.

- A file is downloaded to ``<name>.part`` and renamed when complete, so a half file is never
  mistaken for a whole one.
- An interrupted download resumes with an HTTP ``Range`` request (automatically a few times, and on
  the next run), guarded by ``If-Range`` so a file changed on the server starts over.
- The manifest records size and SHA-256; a file already recorded is not downloaded again.
- Offline, a missing month, or a full disk give a one-line :class:`DownloadError` and keep what was
  there before (a full disk trims the ``.part`` file back to where the attempt started).
"""

from __future__ import annotations

import errno
import json
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from http.client import HTTPException
from pathlib import Path

from ..errors import CourseError
from ..settings import Settings, get_settings
from .files import ZONES_FILE, Manifest, trip_file_name
from .months import Month

CHUNK = 1 << 16
RETRIES = 3
DISK_MARGIN = 64 << 20  # keep this much free beyond the file itself


class DownloadError(CourseError, RuntimeError):
    """A download that could not be done; the message is one line that says what to do."""


@dataclass(frozen=True)
class Remote:
    url: str
    name: str


def tlc_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).data_path / "tlc"


def remote(kind: str, month: Month | str | None = None, fmt: str = "parquet",
           settings: Settings | None = None) -> Remote:
    """Where a file comes from: parquet from the TLC, CSV.gz from the DataTalksClub backups."""
    settings = settings or get_settings()
    if kind == "zones":
        return Remote(f"{settings.tlc_base_url}/misc/{ZONES_FILE}", ZONES_FILE)
    if month is None:
        raise ValueError(f"{kind} files are monthly: give a month (YYYY-MM)")
    name = trip_file_name(kind, month, fmt)
    if fmt == "parquet":
        return Remote(f"{settings.tlc_base_url}/trip-data/{name}", name)
    return Remote(f"{settings.backup_base_url}/{kind}/{name}", name)


def download(kind: str, month: Month | str | None = None, fmt: str = "parquet", *,
             settings: Settings | None = None, progress: bool = True, verify: bool = False) -> Path:
    """Download one file into the data folder's ``tlc/`` (or return it if it is already there).

    Taught in week_2_ingestion/01_download.ipynb (the student's own download script first, then this one)."""
    settings = settings or get_settings()
    src = remote(kind, month, fmt, settings)
    folder = tlc_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(folder)
    target = folder / src.name
    if manifest.is_current(src.name, verify=verify, url=src.url):
        return target
    return _fetch(src, target, manifest, settings.download_timeout, progress)


def _fetch(src: Remote, target: Path, manifest: Manifest, timeout: float, progress: bool) -> Path:
    part = target.with_name(target.name + ".part")
    meta = target.with_name(target.name + ".part.json")  # the validator that makes resuming safe
    for attempt in range(1, RETRIES + 1):
        try:
            _attempt(src, part, meta, timeout, progress)
            break
        except _Interrupted as exc:
            if attempt == RETRIES:
                raise DownloadError(
                    f"{src.name}: download interrupted at {exc.have:,} of {exc.total or '?'} bytes "
                    f"({exc.reason}); run the same command again to resume"
                ) from None
            time.sleep(0.2 * attempt)
    part.replace(target)
    meta.unlink(missing_ok=True)
    manifest.record(src.name, url=src.url, source="download",
                    downloaded_at=datetime.now(UTC).isoformat(timespec="seconds"))
    return target


class _Interrupted(Exception):
    def __init__(self, have: int, total: int | None, reason: str):
        super().__init__(reason)
        self.have, self.total, self.reason = have, total, reason


def _attempt(src: Remote, part: Path, meta: Path, timeout: float, progress: bool) -> None:
    """One request: fetch what is missing from ``part`` (all of it, or the rest after a Range)."""
    have = part.stat().st_size if part.exists() else 0
    validator = json.loads(meta.read_text()).get("validator") if have and meta.exists() else None
    request = urllib.request.Request(src.url, headers={"User-Agent": "zoomcamp-course"})
    if have:
        request.add_header("Range", f"bytes={have}-")
        if validator:
            request.add_header("If-Range", validator)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to fetch: the part is the whole file
            return
        if exc.code in (403, 404):  # the TLC's CDN answers 403 for a file it does not have
            raise DownloadError(
                f"{src.name} is not published at {src.url} (HTTP {exc.code}): check the taxi type and month"
            ) from None
        raise DownloadError(f"{src.name}: the server answered HTTP {exc.code} {exc.reason} for {src.url}") from None
    except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DownloadError(
            f"cannot reach {src.url.split('/')[2]} ({reason}): are you offline? "
            "Work offline with the sample data: `zoomcamp data sample` (ZOOMCAMP_DATA_SOURCE=sample)"
        ) from None

    with response:
        if response.status == 200 and have:
            have = 0  # the server ignored the range (or the file changed): start over
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
        _check_space(part.parent, (total or 0) - have, src.name)
        meta.write_text(json.dumps({"url": src.url, "validator": validator, "total": total}))
        mode = "ab" if have else "wb"
        with open(part, mode) as out, _progress_bar(src.name, total, have, progress) as bar:
            start = have
            try:
                while True:
                    try:
                        block = response.read(CHUNK)
                    except (TimeoutError, ConnectionError, HTTPException, OSError) as exc:
                        raise _Interrupted(have, total, str(exc) or type(exc).__name__) from None
                    if not block:
                        break
                    out.write(block)
                    have += len(block)
                    bar.update(len(block))
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                out.truncate(start)  # leave the part file as it was before this attempt
                raise DownloadError(
                    f"{src.name}: the disk is full ({part.parent}); nothing was kept from this attempt. "
                    "Free some space and run the same command again"
                ) from None
        if total is not None and have < total:
            raise _Interrupted(have, total, "connection closed early")


def _check_space(folder: Path, needed: int, name: str) -> None:
    free = shutil.disk_usage(folder).free
    if needed + DISK_MARGIN > free:
        raise DownloadError(
            f"{name}: not enough disk space in {folder}: need {_mb(needed + DISK_MARGIN)}, "
            f"{_mb(free)} free. Free some space or set ZOOMCAMP_DATA_DIR to a bigger disk"
        )


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB"


def _progress_bar(name: str, total: int | None, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
                desc=name, disable=not enabled, leave=False)
