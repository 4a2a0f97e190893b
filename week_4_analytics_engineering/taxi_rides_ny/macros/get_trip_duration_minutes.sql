{#- Minutes from pickup to dropoff, to the hundredth. dbt.datediff is one of dbt's own cross-database macros:
    it writes date_part arithmetic on PostgreSQL, date_diff on DuckDB and timestamp_diff on BigQuery. -#}
{% macro get_trip_duration_minutes(pickup_datetime, dropoff_datetime) -%}
    round(cast({{ dbt.datediff(pickup_datetime, dropoff_datetime, 'second') }} as numeric) / 60, 2)
{%- endmacro %}
