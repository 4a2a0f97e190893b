-- Trips, revenue and average trip length (minutes) per pickup month, for trips picked up in 2021.
-- Durations from seconds: TIMESTAMP_DIFF(..., MINUTE) differs between BigQuery and the emulator at minute edges.
SELECT
  DATE_TRUNC(DATE(tpep_pickup_datetime), MONTH) AS pickup_month,
  count(*) AS trips,
  ROUND(SUM(total_amount), 2) AS revenue,
  ROUND(AVG(TIMESTAMP_DIFF(tpep_dropoff_datetime, tpep_pickup_datetime, SECOND)) / 60, 2) AS avg_minutes
FROM `${project}.${dataset}.yellow_tripdata`
WHERE EXTRACT(YEAR FROM tpep_pickup_datetime) = 2021
GROUP BY pickup_month
ORDER BY pickup_month
