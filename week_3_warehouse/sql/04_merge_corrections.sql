-- Upsert corrections (e.g. a re-issued file): MERGE updates matching rows, inserts the rest.
MERGE `${project}.${dataset}.${table}` AS t
USING `${project}.${dataset}.${corrections}` AS c
ON t.VendorID = c.VendorID AND t.tpep_pickup_datetime = c.tpep_pickup_datetime
   AND t.PULocationID = c.PULocationID AND t.DOLocationID = c.DOLocationID
WHEN MATCHED THEN UPDATE SET total_amount = c.total_amount
WHEN NOT MATCHED THEN INSERT (
    VendorID, tpep_pickup_datetime, tpep_dropoff_datetime, passenger_count, trip_distance, RatecodeID,
    store_and_fwd_flag, PULocationID, DOLocationID, payment_type, fare_amount, extra, mta_tax,
    tip_amount, tolls_amount, improvement_surcharge, total_amount, congestion_surcharge, airport_fee,
    year, month
  ) VALUES (
    c.VendorID, c.tpep_pickup_datetime, c.tpep_dropoff_datetime, c.passenger_count, c.trip_distance,
    c.RatecodeID, c.store_and_fwd_flag, c.PULocationID, c.DOLocationID, c.payment_type, c.fare_amount,
    c.extra, c.mta_tax, c.tip_amount, c.tolls_amount, c.improvement_surcharge, c.total_amount,
    c.congestion_surcharge, c.airport_fee, c.year, c.month
  )
