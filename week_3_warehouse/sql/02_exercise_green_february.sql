-- Exercise 2 (solution): green trips in the lake's February 2021 partition, read through the external table.
SELECT count(*) AS trips
FROM `${project}.${dataset}.external_green_tripdata`
WHERE year = 2021 AND month = 2
