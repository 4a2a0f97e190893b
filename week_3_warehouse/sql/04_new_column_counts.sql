SELECT count(*) AS trips, count(cbd_congestion_fee) AS with_fee, ROUND(SUM(cbd_congestion_fee), 2) AS fees
FROM `${project}.${dataset}.${table}`
