"""The real ``zoomcamp registration serve`` processes of test_registration_server.py and test_platform_server.py:
one per database for both files (each start-up is a new interpreter importing the app), in one work unit under
xdist (tests/conftest.py, GROUPS)."""

from __future__ import annotations

import pytest
from registration_support import started


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(request, tmp_path_factory):
    running = started(request.param, tmp_path_factory.mktemp(f"registration-{request.param}"))
    yield running
    running.stop()
