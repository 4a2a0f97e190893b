-- A dimension table of the star schema: zones per borough.
SELECT Borough, count(*) AS zones
FROM `${project}.${dataset}.dim_zones`
GROUP BY Borough
ORDER BY zones DESC, Borough
