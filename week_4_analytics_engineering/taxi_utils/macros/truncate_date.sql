{#- The first day of the period (month, week, day, year) that a timestamp falls in, as a DATE.

    adapter.dispatch picks the implementation named after the current warehouse (postgres__truncate_date on
    PostgreSQL, ...) and falls back to default__truncate_date. A project that installs this package can add its own
    `<warehouse>__truncate_date` and list itself first in `dispatch:` (dbt_project.yml) to override one. -#}
{% macro truncate_date(datepart, column) -%}
    {{ return(adapter.dispatch('truncate_date', 'taxi_utils')(datepart, column)) }}
{%- endmacro %}

{% macro default__truncate_date(datepart, column) -%}
    cast(date_trunc('{{ datepart }}', {{ column }}) as date)
{%- endmacro %}

{#- PostgreSQL: date_trunc gives a timestamp; ::date is its own cast syntax. -#}
{% macro postgres__truncate_date(datepart, column) -%}
    date_trunc('{{ datepart }}', {{ column }})::date
{%- endmacro %}

{#- DuckDB: date_trunc of a timestamp is a timestamp too; cast it. -#}
{% macro duckdb__truncate_date(datepart, column) -%}
    cast(date_trunc('{{ datepart }}', {{ column }}) as date)
{%- endmacro %}

{#- BigQuery: the part comes second and is a keyword, not a string; truncate the DATE directly. -#}
{% macro bigquery__truncate_date(datepart, column) -%}
    date_trunc(date({{ column }}), {{ datepart | upper }})
{%- endmacro %}
