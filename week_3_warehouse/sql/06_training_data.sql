-- The same rows the model trains on, for the local equivalent.
SELECT * FROM `${project}.${dataset}.yellow_tripdata_ml`
WHERE tip_amount IS NOT NULL
