-- The warehouse_load DAG's query job: a small report table rebuilt from the loaded trips on every run.
CREATE OR REPLACE TABLE `${project}.${dataset}.airflow_monthly_revenue` AS
SELECT
  DATE_TRUNC(DATE(tpep_pickup_datetime), MONTH) AS pickup_month,
  COUNT(*) AS trips,
  ROUND(SUM(total_amount), 2) AS revenue
FROM `${project}.${dataset}.airflow_yellow_tripdata`
GROUP BY pickup_month;

SELECT COUNT(*) AS months FROM `${project}.${dataset}.airflow_monthly_revenue`
