"""zoomcamp: the Data Engineering Zoomcamp's course library.

Notebooks teach; this package does the plumbing they share:

- :mod:`zoomcamp.settings`  one settings object (data folder, ports, ``backend = local | gcp``)
- :mod:`zoomcamp.datasets`  TLC schemas, the sample generator, the downloader
- :mod:`zoomcamp.stack`     the local services (PostgreSQL, ...), started and stopped together
- :mod:`zoomcamp.db`        connections and queries to the course's PostgreSQL
- :mod:`zoomcamp.ingest`    files into PostgreSQL
"""

from importlib.metadata import PackageNotFoundError, version

from .settings import Settings, get_settings

try:
    __version__ = version("zoomcamp")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"

__all__ = ["Settings", "__version__", "get_settings"]
