-- Green taxi trips: renamed, typed, deduplicated. A view (see dbt_project.yml): no copy of the data is stored.
with tripdata as (
    select
        *,
        -- The TLC files hold some records twice under the same vendor and pickup time: keep one per pair.
        -- The ORDER BY makes the choice the same on every warehouse.
        row_number() over (
            partition by vendorid, lpep_pickup_datetime
            order by lpep_dropoff_datetime, total_amount, trip_distance
        ) as rn
    from {{ source('trips_data_all', 'green_tripdata') }}
    where vendorid is not null
)

select
    -- identifiers (the service is part of the key: a green and a yellow trip may share vendor and time)
    {{ taxi_utils.generate_surrogate_key(["'green'", 'vendorid', 'lpep_pickup_datetime']) }} as tripid,
    cast(vendorid as integer) as vendorid,
    cast(ratecodeid as integer) as ratecodeid,
    cast(pulocationid as integer) as pickup_locationid,
    cast(dolocationid as integer) as dropoff_locationid,

    -- timestamps
    cast(lpep_pickup_datetime as timestamp) as pickup_datetime,
    cast(lpep_dropoff_datetime as timestamp) as dropoff_datetime,
    {{ get_trip_duration_minutes('lpep_pickup_datetime', 'lpep_dropoff_datetime') }} as trip_duration_minutes,

    -- trip info
    store_and_fwd_flag,
    cast(passenger_count as integer) as passenger_count,
    cast(trip_distance as numeric) as trip_distance,
    cast(trip_type as integer) as trip_type,

    -- payment info
    cast(fare_amount as numeric) as fare_amount,
    cast(extra as numeric) as extra,
    cast(mta_tax as numeric) as mta_tax,
    cast(tip_amount as numeric) as tip_amount,
    cast(tolls_amount as numeric) as tolls_amount,
    cast(ehail_fee as numeric) as ehail_fee,
    cast(improvement_surcharge as numeric) as improvement_surcharge,
    cast(total_amount as numeric) as total_amount,
    cast(payment_type as integer) as payment_type,
    {{ get_payment_type_description('payment_type') }} as payment_type_description
from tripdata
where rn = 1

-- dbt build --vars '{is_test_run: true}': a quick run on 100 rows while developing
{% if var('is_test_run', default=false) %}
limit 100
{% endif %}
