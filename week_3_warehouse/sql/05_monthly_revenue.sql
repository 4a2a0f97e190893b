-- One query, to be run on BigQuery and translated for its alternatives.
SELECT
  DATE_TRUNC(DATE(tpep_pickup_datetime), MONTH) AS pickup_month,
  COUNTIF(tip_amount > 0) AS tipped_trips,
  ROUND(SUM(total_amount), 2) AS revenue
FROM `${project}.${dataset}.yellow_tripdata`
WHERE tpep_pickup_datetime >= TIMESTAMP '2021-01-01' AND tpep_pickup_datetime < TIMESTAMP '2021-04-01'
GROUP BY pickup_month
ORDER BY pickup_month
