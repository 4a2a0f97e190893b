-- For-hire vehicle trips: no vendor and no meter, so the dispatching base stands in for the vendor.
with tripdata as (
    select
        *,
        row_number() over (
            partition by dispatching_base_num, pickup_datetime
            order by dropoff_datetime, pulocationid, dolocationid
        ) as rn
    from {{ source('trips_data_all', 'fhv_tripdata') }}
    where dispatching_base_num is not null
)

select
    {{ taxi_utils.generate_surrogate_key(["'fhv'", 'dispatching_base_num', 'pickup_datetime']) }} as tripid,
    dispatching_base_num,
    affiliated_base_number,
    cast(pulocationid as integer) as pickup_locationid,
    cast(dolocationid as integer) as dropoff_locationid,
    cast(pickup_datetime as timestamp) as pickup_datetime,
    cast(dropoff_datetime as timestamp) as dropoff_datetime,
    {{ get_trip_duration_minutes('pickup_datetime', 'dropoff_datetime') }} as trip_duration_minutes,
    -- SR_Flag is 1 for a shared ride and empty otherwise
    case when sr_flag = 1 then true else false end as is_shared_ride
from tripdata
where rn = 1

{% if var('is_test_run', default=false) %}
limit 100
{% endif %}
