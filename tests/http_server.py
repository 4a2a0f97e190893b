"""The downloader's tests use the course's local stand-in for the TLC's site (``zoomcamp.datasets.mirror``)."""

from zoomcamp.datasets.mirror import FileServer

__all__ = ["FileServer"]
