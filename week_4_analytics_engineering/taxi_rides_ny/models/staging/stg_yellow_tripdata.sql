-- Yellow taxi trips: the same columns as stg_green_tripdata, so the two can be stacked in fact_trips.
with tripdata as (
    select
        *,
        row_number() over (
            partition by vendorid, tpep_pickup_datetime
            order by tpep_dropoff_datetime, total_amount, trip_distance
        ) as rn
    from {{ source('trips_data_all', 'yellow_tripdata') }}
    where vendorid is not null
)

select
    -- identifiers
    {{ taxi_utils.generate_surrogate_key(["'yellow'", 'vendorid', 'tpep_pickup_datetime']) }} as tripid,
    cast(vendorid as integer) as vendorid,
    cast(ratecodeid as integer) as ratecodeid,
    cast(pulocationid as integer) as pickup_locationid,
    cast(dolocationid as integer) as dropoff_locationid,

    -- timestamps
    cast(tpep_pickup_datetime as timestamp) as pickup_datetime,
    cast(tpep_dropoff_datetime as timestamp) as dropoff_datetime,
    {{ get_trip_duration_minutes('tpep_pickup_datetime', 'tpep_dropoff_datetime') }} as trip_duration_minutes,

    -- trip info
    store_and_fwd_flag,
    cast(passenger_count as integer) as passenger_count,
    cast(trip_distance as numeric) as trip_distance,
    -- yellow cabs are always street-hail (trip_type 1); the column exists only in the green files
    1 as trip_type,

    -- payment info
    cast(fare_amount as numeric) as fare_amount,
    cast(extra as numeric) as extra,
    cast(mta_tax as numeric) as mta_tax,
    cast(tip_amount as numeric) as tip_amount,
    cast(tolls_amount as numeric) as tolls_amount,
    cast(0 as numeric) as ehail_fee,
    cast(improvement_surcharge as numeric) as improvement_surcharge,
    cast(total_amount as numeric) as total_amount,
    cast(payment_type as integer) as payment_type,
    {{ get_payment_type_description('payment_type') }} as payment_type_description
from tripdata
where rn = 1

{% if var('is_test_run', default=false) %}
limit 100
{% endif %}
