-- One row per partition: its id (YYYYMMDD for daily partitions) and its rows.
SELECT partition_id, total_rows
FROM `${project}.${dataset}.INFORMATION_SCHEMA.PARTITIONS`
WHERE table_name = '${table}'
ORDER BY partition_id
