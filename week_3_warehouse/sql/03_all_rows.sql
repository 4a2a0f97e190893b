-- Every row of the native table, to lay it out locally the way BigQuery stores each table.
SELECT * FROM `${project}.${dataset}.yellow_tripdata`
