"""A local stand-in for the TLC's download site: files over HTTP on 127.0.0.1, at the TLC's URLs.

Week 2's notebook 01 (week_2_ingestion/01_download.ipynb) writes its download script against it, offline; the
downloader's tests use it too. Everywhere else the real site (``settings.tlc_base_url``) stays the default.

- :func:`tlc_mirror` serves local files at the TLC's paths: ``/trip-data/<type>_tripdata_YYYY-MM.parquet`` and
  ``/misc/taxi_zone_lookup.csv``, as ``https://d37ci6vzurychx.cloudfront.net`` does.
- Like a CDN it answers ``Range`` requests (206, or 416 past the end), with an ``ETag`` honoured by ``If-Range``.
- Failures on demand: ``cut_after[path] = n`` sends n bytes and drops the connection (once); a missing file is a 404.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .files import ZONES_FILE


class FileServer:
    """Serves ``files`` (URL path -> bytes) at ``url``, and records every request."""

    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.requests: list[dict] = []  # path and headers of every request, for assertions
        self.cut_after: dict[str, int] = {}  # path -> bytes to send before dropping the connection (once)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append({"path": self.path, "range": self.headers.get("Range"),
                                        "if_range": self.headers.get("If-Range")})
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                etag = '"' + hashlib.md5(body).hexdigest() + '"'
                start = 0
                match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range") or "")
                if_range = self.headers.get("If-Range")
                if match and (if_range is None or if_range == etag):
                    start = int(match[1])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                payload = body[start:]
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("ETag", etag)
                self.end_headers()
                cut = server.cut_after.pop(self.path, None)
                if cut is not None:
                    self.wfile.write(payload[:cut])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True, kwargs={"poll_interval": 0.05})

    def start(self) -> FileServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def tlc_mirror(files: Iterable[Path]) -> FileServer:
    """A server (not started: use it in a ``with`` block, or call ``start()``) with these local files at the TLC's
    paths: the zone lookup under ``/misc/``, trip files under ``/trip-data/``."""
    return FileServer({("/misc/" if Path(f).name == ZONES_FILE else "/trip-data/") + Path(f).name: Path(f).read_bytes()
                       for f in files})
