-- Exercise 3 (solution): the partitions a monthly partitioning (PARTITION BY DATE_TRUNC(..., MONTH)) would make.
SELECT COUNT(DISTINCT DATE_TRUNC(DATE(tpep_pickup_datetime), MONTH)) AS partitions
FROM `${project}.${dataset}.yellow_tripdata`
