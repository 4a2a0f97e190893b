-- Schema evolution by DDL: a new, NULLABLE column; existing rows read NULL in it.
ALTER TABLE `${project}.${dataset}.${table}` ADD COLUMN IF NOT EXISTS cbd_congestion_fee FLOAT64
