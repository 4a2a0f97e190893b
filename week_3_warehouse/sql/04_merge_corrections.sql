-- Upsert corrections (e.g. a re-issued file): MERGE updates matching rows, inserts the rest.
MERGE `${project}.${dataset}.${table}` AS t
USING `${project}.${dataset}.${corrections}` AS c
ON t.VendorID = c.VendorID AND t.tpep_pickup_datetime = c.tpep_pickup_datetime
   AND t.PULocationID = c.PULocationID AND t.DOLocationID = c.DOLocationID
WHEN MATCHED THEN UPDATE SET total_amount = c.total_amount
WHEN NOT MATCHED THEN INSERT ROW
