-- Exercise 3 (solution): trips whose pickup falls outside the month of the file (the partition) they came in.
SELECT count(*) AS trips
FROM `${project}.${dataset}.yellow_tripdata`
WHERE DATE_TRUNC(DATE(tpep_pickup_datetime), MONTH) != DATE(year, month, 1)
