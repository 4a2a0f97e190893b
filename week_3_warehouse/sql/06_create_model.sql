-- A linear regression of the tip, trained inside BigQuery.
CREATE OR REPLACE MODEL `${project}.${dataset}.tip_model`
OPTIONS (
  model_type = 'linear_reg',
  input_label_cols = ['tip_amount'],
  data_split_method = 'AUTO_SPLIT'
) AS
SELECT * FROM `${project}.${dataset}.yellow_tripdata_ml`
WHERE tip_amount IS NOT NULL
