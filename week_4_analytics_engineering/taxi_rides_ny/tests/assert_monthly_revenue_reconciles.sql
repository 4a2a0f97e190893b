-- A singular test: a query that returns the rows that are wrong, so it passes when it returns none.
-- The data mart must count the same trips and the same money as fact_trips, per service.
with mart as (
    select service_type,
           sum(total_monthly_trips) as trips,
           sum(revenue_monthly_total_amount) as revenue
    from {{ ref('dm_monthly_zone_revenue') }}
    group by service_type
),

facts as (
    select service_type,
           count(*) as trips,
           sum(total_amount) as revenue
    from {{ ref('fact_trips') }}
    group by service_type
)

select
    coalesce(facts.service_type, mart.service_type) as service_type,
    facts.trips as fact_trips,
    mart.trips as mart_trips,
    facts.revenue as fact_revenue,
    mart.revenue as mart_revenue
from facts
full outer join mart on facts.service_type = mart.service_type
where coalesce(facts.trips, -1) != coalesce(mart.trips, -1)
   or abs(coalesce(facts.revenue, 0) - coalesce(mart.revenue, 0)) > 0.01
