-- Exercise 1 (solution): how many zones of each service_zone lie in Manhattan?
SELECT service_zone, count(*) AS zones
FROM `${project}.${dataset}.dim_zones`
WHERE Borough = 'Manhattan'
GROUP BY service_zone
ORDER BY service_zone
