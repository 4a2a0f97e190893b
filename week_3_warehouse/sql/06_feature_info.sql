SELECT * FROM ML.FEATURE_INFO(MODEL `${project}.${dataset}.tip_model`)
