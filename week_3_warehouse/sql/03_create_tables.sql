-- The same rows three ways. In BigQuery the DDL records the partitioning and clustering.
CREATE OR REPLACE TABLE `${project}.${dataset}.yellow_tripdata_non_partitioned` AS
SELECT * FROM `${project}.${dataset}.yellow_tripdata`;

CREATE OR REPLACE TABLE `${project}.${dataset}.yellow_tripdata_partitioned`
PARTITION BY DATE(tpep_pickup_datetime) AS
SELECT * FROM `${project}.${dataset}.yellow_tripdata`;

CREATE OR REPLACE TABLE `${project}.${dataset}.yellow_tripdata_partitioned_clustered`
PARTITION BY DATE(tpep_pickup_datetime)
CLUSTER BY VendorID AS
SELECT * FROM `${project}.${dataset}.yellow_tripdata`;
