-- What the warehouse_load DAG's query job left: its report table, month by month.
SELECT pickup_month, trips, revenue
FROM `${project}.${dataset}.airflow_monthly_revenue`
ORDER BY pickup_month
