-- Rows per partition folder: comparable with the lake's own check (zoomcamp lake check).
SELECT year, month, count(*) AS trips
FROM `${project}.${dataset}.${table}`
GROUP BY year, month
ORDER BY year, month
