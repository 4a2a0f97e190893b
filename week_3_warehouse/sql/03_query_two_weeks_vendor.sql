-- Two weeks of one vendor: a filter on the partition column (pickup date) and on the cluster column (VendorID).
SELECT count(*) AS trips, ROUND(SUM(total_amount), 2) AS revenue
FROM `${project}.${dataset}.${table}`
WHERE DATE(tpep_pickup_datetime) BETWEEN '2021-02-01' AND '2021-02-14'
  AND VendorID = 1
