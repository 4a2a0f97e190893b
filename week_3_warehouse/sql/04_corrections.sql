-- Corrections as a re-issued file would bring them: three known trips with a new total, and one new trip.
CREATE OR REPLACE TABLE `${project}.${dataset}.${corrections}` AS
SELECT * REPLACE (ROUND(total_amount + 1, 2) AS total_amount)
FROM `${project}.${dataset}.${table}`
WHERE VendorID = 2
QUALIFY ROW_NUMBER() OVER (ORDER BY tpep_pickup_datetime, PULocationID, DOLocationID) <= 3
UNION ALL
SELECT * REPLACE (TIMESTAMP '2021-03-31 23:59:00' AS tpep_pickup_datetime, 42.0 AS total_amount)
FROM `${project}.${dataset}.${table}`
WHERE VendorID = 1
QUALIFY ROW_NUMBER() OVER (ORDER BY tpep_pickup_datetime, PULocationID, DOLocationID) = 1
