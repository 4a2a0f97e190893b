"""Your dashboard: `streamlit run dashboard/app.py`. Two tiles at least: one over time, one by category.

TODO: read your warehouse's tables (BigQuery: google-cloud-bigquery's client.query(...).to_dataframe()).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

st.set_page_config(page_title="TODO: your dashboard", layout="wide")
st.title("TODO: your dashboard")


@st.cache_data(ttl=600)
def load_daily() -> pd.DataFrame:
    # TODO: SELECT pickup_date, trips, revenue FROM <dataset>.daily_revenue
    return pd.DataFrame({"pickup_date": pd.date_range("2021-01-01", periods=7), "trips": [0] * 7})


@st.cache_data(ttl=600)
def load_by_category() -> pd.DataFrame:
    # TODO: a categorical breakdown, e.g. revenue per borough
    return pd.DataFrame({"category": ["a", "b"], "revenue": [0.0, 0.0]})


left, right = st.columns(2)
with left:
    st.subheader("Trips per day")
    st.line_chart(load_daily(), x="pickup_date", y="trips")
with right:
    st.subheader("Revenue by category")
    st.bar_chart(load_by_category(), x="category", y="revenue")
