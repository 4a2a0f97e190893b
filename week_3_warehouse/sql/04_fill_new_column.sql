-- DML on the new column: the fee applies to trips picked up in Manhattan's congestion zone (here: from 2021-03).
UPDATE `${project}.${dataset}.${table}`
SET cbd_congestion_fee = 0.75
WHERE tpep_pickup_datetime >= TIMESTAMP '2021-03-01'
