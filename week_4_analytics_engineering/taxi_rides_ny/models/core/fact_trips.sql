-- Every green and yellow trip with its pickup and dropoff zones. Incremental: the first run (and
-- `--full-refresh`) builds the whole table; later runs only add trips newer than the newest already there.
{{
    config(
        materialized='incremental',
        unique_key='tripid',
        on_schema_change='fail'
    )
}}

with trips as (
    select * from {{ ref('int_trips_unioned') }}
),

{% if is_incremental() %}
-- The newest pickup already loaded, per service: green and yellow files arrive separately.
latest as (
    select service_type, max(pickup_datetime) as latest_pickup
    from {{ this }}
    group by service_type
),

new_trips as (
    select trips.*
    from trips
    left join latest on trips.service_type = latest.service_type
    where latest.latest_pickup is null or trips.pickup_datetime > latest.latest_pickup
),
{% else %}
new_trips as (
    select * from trips
),
{% endif %}

dim_zones as (
    select * from {{ ref('dim_zones') }}
    where borough != 'Unknown'
)

select
    new_trips.tripid,
    new_trips.vendorid,
    new_trips.service_type,
    new_trips.ratecodeid,
    new_trips.pickup_locationid,
    pickup_zone.borough as pickup_borough,
    pickup_zone.zone as pickup_zone,
    new_trips.dropoff_locationid,
    dropoff_zone.borough as dropoff_borough,
    dropoff_zone.zone as dropoff_zone,
    new_trips.pickup_datetime,
    new_trips.dropoff_datetime,
    new_trips.trip_duration_minutes,
    new_trips.store_and_fwd_flag,
    new_trips.passenger_count,
    new_trips.trip_distance,
    new_trips.trip_type,
    new_trips.fare_amount,
    new_trips.extra,
    new_trips.mta_tax,
    new_trips.tip_amount,
    new_trips.tolls_amount,
    new_trips.ehail_fee,
    new_trips.improvement_surcharge,
    new_trips.total_amount,
    new_trips.payment_type,
    new_trips.payment_type_description,
    -- which dbt run inserted the row: shows what each incremental run added
    '{{ invocation_id }}' as dbt_invocation_id
from new_trips
inner join dim_zones as pickup_zone on new_trips.pickup_locationid = pickup_zone.locationid
inner join dim_zones as dropoff_zone on new_trips.dropoff_locationid = dropoff_zone.locationid
