-- Exercise 2 (solution): the daily partition with the most rows (the earliest if several tie).
SELECT partition_id
FROM `${project}.${dataset}.INFORMATION_SCHEMA.PARTITIONS`
WHERE table_name = '${table}'
ORDER BY total_rows DESC, partition_id
LIMIT 1
