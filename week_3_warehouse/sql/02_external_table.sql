-- An external table: BigQuery reads the lake's parquet files in place, at query time.
-- The year=/month= folders become partition columns (hive partitioning), as in week 2's Terraform.
CREATE OR REPLACE EXTERNAL TABLE `${project}.${dataset}.external_${kind}_tripdata`
WITH PARTITION COLUMNS (year INT64, month INT64)
OPTIONS (
  format = 'PARQUET',
  uris = ['${lake}/${kind}/*'],
  hive_partition_uri_prefix = '${lake}/${kind}'
)
