-- Green and yellow trips stacked, with the service each came from. Ephemeral: never built in the database;
-- dbt pastes this query as a CTE into every model that refs it (here fact_trips).
{{ config(materialized='ephemeral') }}

select *, 'Green' as service_type from {{ ref('stg_green_tripdata') }}
union all
select *, 'Yellow' as service_type from {{ ref('stg_yellow_tripdata') }}
