-- Exercise 3 (solution): trips of vendor 9 (the streamed rows) and their total.
SELECT count(*) AS trips, ROUND(SUM(total_amount), 2) AS total
FROM `${project}.${dataset}.${table}`
WHERE VendorID = 9
