-- Fill a table whose partitioning was declared through the API (as Terraform's google_bigquery_table does).
INSERT INTO `${project}.${dataset}.${table}`
SELECT * FROM `${project}.${dataset}.yellow_tripdata`
