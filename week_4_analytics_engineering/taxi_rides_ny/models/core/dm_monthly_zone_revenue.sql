-- The data mart: revenue per pickup zone, month and service, what the dashboard reads.
with trips as (
    select * from {{ ref('fact_trips') }}
)

select
    -- grouping
    pickup_locationid as revenue_locationid,
    pickup_zone as revenue_zone,
    {{ taxi_utils.truncate_date('month', 'pickup_datetime') }} as revenue_month,
    service_type,

    -- revenue components
    sum(fare_amount) as revenue_monthly_fare,
    sum(extra) as revenue_monthly_extra,
    sum(mta_tax) as revenue_monthly_mta_tax,
    sum(tip_amount) as revenue_monthly_tip_amount,
    sum(tolls_amount) as revenue_monthly_tolls_amount,
    sum(ehail_fee) as revenue_monthly_ehail_fee,
    sum(improvement_surcharge) as revenue_monthly_improvement_surcharge,
    sum(total_amount) as revenue_monthly_total_amount,

    -- trips and their averages
    count(tripid) as total_monthly_trips,
    avg(passenger_count) as avg_monthly_passenger_count,
    avg(trip_distance) as avg_monthly_trip_distance
from trips
group by 1, 2, 3, 4
