-- The model's features and label. Location and payment ids are categories, not quantities: as STRING, BigQuery ML
-- one-hot encodes them. Only card payments record tips, so the model learns from those.
CREATE OR REPLACE TABLE `${project}.${dataset}.yellow_tripdata_ml` AS
SELECT
  passenger_count,
  trip_distance,
  CAST(PULocationID AS STRING) AS PULocationID,
  CAST(DOLocationID AS STRING) AS DOLocationID,
  fare_amount,
  tolls_amount,
  tip_amount
FROM `${project}.${dataset}.yellow_tripdata`
WHERE payment_type = 1 AND fare_amount > 0 AND tip_amount >= 0 AND trip_distance > 0
  AND passenger_count IS NOT NULL
