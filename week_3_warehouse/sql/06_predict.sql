SELECT predicted_tip_amount, tip_amount, trip_distance, fare_amount
FROM ML.PREDICT(MODEL `${project}.${dataset}.tip_model`,
  (SELECT * FROM `${project}.${dataset}.yellow_tripdata_ml` WHERE tip_amount IS NOT NULL))
