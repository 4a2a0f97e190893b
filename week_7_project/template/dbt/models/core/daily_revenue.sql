-- What the dashboard's temporal tile reads. TODO: the measures your dashboard needs.
select
    cast(pickup_datetime as date) as pickup_date,
    count(*) as trips,
    sum(total_amount) as revenue
from {{ ref('stg_trips') }}
group by 1
