"""The reference project's dashboard: NYC taxi trips and revenue, from the warehouse the pipeline built.

Run it with ``zoomcamp project dashboard`` (http://127.0.0.1:8501), after ``zoomcamp project run``.
Two tiles — trips or revenue per day by service type (temporal), revenue share by borough or zone (categorical) —
above three totals, with filters for the month and the service type. Every number comes from
``zoomcamp.project.DashboardData``: this file only lays them out.
"""

from __future__ import annotations

import altair as alt
import streamlit as st

from zoomcamp.errors import CourseError
from zoomcamp.project import SERVICES, DashboardData

st.set_page_config(page_title="NYC taxi trips", page_icon=":taxi:", layout="wide")
st.title("NYC taxi trips: green and yellow cabs")

COLOURS = {"Green": "#2ca02c", "Yellow": "#e6b800"}  # each service's colour in every chart


@st.cache_data(ttl=60, show_spinner=False)
def months() -> list[str]:
    return DashboardData().months()


@st.cache_data(ttl=60, show_spinner=False)
def query(name: str, months: tuple[str, ...], services: tuple[str, ...], *args):
    return getattr(DashboardData(), name)(list(months), list(services), *args)


try:
    available = months()
except CourseError as exc:
    st.error(f"No data to show: {exc}")
    st.stop()
if not available:
    st.warning("The warehouse holds no trips yet: run `zoomcamp project run --months 2021-01`.")
    st.stop()

with st.sidebar:
    st.header("Filters")
    chosen_months = st.multiselect("Month", available, default=available, key="months")
    services = st.multiselect("Service type", list(SERVICES.values()), default=list(SERVICES.values()),
                              key="services")
    measure = st.radio("Per day", ["trips", "revenue"], horizontal=True, key="measure")
    by = st.radio("Revenue share by", ["borough", "zone"], horizontal=True, key="by")
    st.caption("Data: NYC TLC trip records through the course's pipeline (lake, warehouse, dbt). "
               "Trips from or to an unknown zone, and duplicates, are left out by dbt.")

chosen, picked = tuple(chosen_months), tuple(services)
note = DashboardData.selection_note(chosen, picked)
if note:  # nothing selected: say what to do, not charts of nothing
    st.info(note)
    st.stop()
totals = query("totals", chosen, picked)
trips_col, revenue_col, per_trip_col = st.columns(3)
trips_col.metric("Trips", f"{totals['trips']:,}")
revenue_col.metric("Revenue", f"${totals['revenue']:,.2f}")
per_trip_col.metric("Revenue per trip", f"${totals['per_trip']:,.2f}")

left, right = st.columns(2)
with left:
    st.subheader(f"{measure.capitalize()} per day by service type")
    daily = query("daily", chosen, picked)
    chart = alt.Chart(daily).mark_line(point=True).encode(
        x=alt.X("pickup_date:T", title="pickup day"),
        y=alt.Y(f"{measure}:Q", title=measure),
        # The legend lists the services selected, not every service there is.
        color=alt.Color("service_type:N", title="service",
                        scale=alt.Scale(domain=list(picked), range=[COLOURS[s] for s in picked])),
        tooltip=["pickup_date:T", "service_type:N", "trips:Q", alt.Tooltip("revenue:Q", format="$,.2f")],
    )
    st.altair_chart(chart, width="stretch")
    with st.expander("The numbers per day"):
        st.dataframe(daily, hide_index=True)

with right:
    st.subheader(f"Revenue share by {by}")
    share = query("revenue_share", chosen, picked, by)
    shown = share.head(15)  # zones: the 15 biggest (all of them are in the table below)
    bars = alt.Chart(shown).mark_bar(color="#4a6fa5").encode(
        x=alt.X("share:Q", axis=alt.Axis(format="%"), title="share of revenue"),
        y=alt.Y(f"{by}:N", sort="-x", title=None),
        tooltip=[f"{by}:N", "trips:Q", alt.Tooltip("revenue:Q", format="$,.2f"),
                 alt.Tooltip("share:Q", format=".1%")],
    )
    st.altair_chart(bars, width="stretch")
    with st.expander(f"The numbers per {by}"):
        st.dataframe(share, hide_index=True)
