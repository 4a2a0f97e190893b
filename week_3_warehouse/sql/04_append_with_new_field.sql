-- A query whose result has a column the destination lacks (run with WRITE_APPEND into ${table}).
SELECT *, 0.75 AS cbd_congestion_fee
FROM `${project}.${dataset}.${table}`
LIMIT 10
