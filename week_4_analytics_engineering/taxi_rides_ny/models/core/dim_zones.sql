-- The taxi zones, from the zone lookup seed. A table: small, read by every join in the core models.
select
    locationid,
    borough,
    zone,
    -- "Boro Zone" is where green cabs may pick up: call it that
    replace(service_zone, 'Boro', 'Green') as service_zone
from {{ ref('taxi_zone_lookup') }}
