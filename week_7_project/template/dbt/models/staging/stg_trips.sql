-- Staging: one view per raw table, columns renamed and typed. TODO: your columns.
select
    cast(pickup_datetime as timestamp) as pickup_datetime,
    cast(pulocationid as integer) as pickup_locationid,
    cast(total_amount as numeric) as total_amount
from {{ source('raw', 'trips') }}
