"""Week 7's dashboard app on a small warehouse of its own (no stack, no pipeline run): what it shows for an empty
selection, and that its legend lists only the services selected. The numbers against the real pipeline are in
test_project.py."""

from __future__ import annotations

import json

import duckdb
import pytest

from zoomcamp import project
from zoomcamp.project import DashboardData

DAILY = [("2021-01", "2021-01-05", "Green", 3, 45.5), ("2021-01", "2021-01-05", "Yellow", 7, 99.25),
         ("2021-02", "2021-02-03", "Green", 2, 20.0), ("2021-02", "2021-02-03", "Yellow", 5, 61.0)]
ZONES = [("2021-01", "Green", "Queens", "Astoria", 3, 45.5), ("2021-01", "Yellow", "Manhattan", "Midtown", 7, 99.25),
         ("2021-02", "Green", "Queens", "Astoria", 2, 20.0), ("2021-02", "Yellow", "Manhattan", "Midtown", 5, 61.0)]


@pytest.mark.parametrize(("months", "services", "says"), [
    ([], ["Green", "Yellow"], "Select a month"),
    ([], [], "Select a month"),
    (["2021-01"], [], "Select a service type"),
    (["2021-01"], ["Green"], None),
])
def test_an_empty_selection_is_a_note_not_empty_charts(months, services, says):
    note = DashboardData.selection_note(months, services)
    assert note is None if says is None else note.startswith(says)


@pytest.fixture
def small_warehouse(tmp_path, monkeypatch):
    """A home whose warehouse holds only the dashboard's two tables, with four rows each."""
    from zoomcamp.settings import get_settings, reload_settings

    monkeypatch.setenv("ZOOMCAMP_HOME", str(tmp_path))
    reload_settings()
    path = project.warehouse_path(get_settings())
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA dashboard")
        con.execute("CREATE TABLE dashboard.daily_trips (month VARCHAR, pickup_date DATE, service_type VARCHAR, "
                    "trips BIGINT, revenue DOUBLE)")
        con.executemany("INSERT INTO dashboard.daily_trips VALUES (?, ?, ?, ?, ?)", DAILY)
        con.execute("CREATE TABLE dashboard.zone_revenue (month VARCHAR, service_type VARCHAR, borough VARCHAR, "
                    "zone VARCHAR, trips BIGINT, revenue DOUBLE)")
        con.executemany("INSERT INTO dashboard.zone_revenue VALUES (?, ?, ?, ?, ?, ?)", ZONES)
    yield path
    monkeypatch.undo()
    reload_settings()


def _charts(app) -> list:
    def walk(node):
        for child in getattr(node, "children", {}).values():
            yield child
            yield from walk(child)

    return [e for e in walk(app.main) if getattr(e, "type", "") == "vega_lite_chart"]


def test_the_app_asks_for_a_month_and_its_legend_lists_only_the_selected_services(small_warehouse):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    try:
        app = AppTest.from_file(str(project.APP), default_timeout=60).run()
        assert not app.exception and len(_charts(app)) == 2

        app.multiselect(key="services").set_value(["Green"]).run()
        assert not app.exception
        daily = json.loads(_charts(app)[0].proto.spec)
        assert daily["encoding"]["color"]["scale"]["domain"] == ["Green"]  # the legend: Green only

        app.multiselect(key="months").set_value([]).run()  # no month: a note, no empty charts and $0.00 totals
        assert not app.exception
        assert [i.value for i in app.info] and app.info[0].value.startswith("Select a month")
        assert not _charts(app) and not app.metric
    finally:
        st.cache_data.clear()
