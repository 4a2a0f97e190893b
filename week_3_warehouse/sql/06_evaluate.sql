SELECT * FROM ML.EVALUATE(MODEL `${project}.${dataset}.tip_model`,
  (SELECT * FROM `${project}.${dataset}.yellow_tripdata_ml` WHERE tip_amount IS NOT NULL))
