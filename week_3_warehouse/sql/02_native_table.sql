-- A native (managed) table: the rows copied into BigQuery's own columnar storage.
CREATE OR REPLACE TABLE `${project}.${dataset}.${kind}_tripdata` AS
SELECT * FROM `${project}.${dataset}.external_${kind}_tripdata`
