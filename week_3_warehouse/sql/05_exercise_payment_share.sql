-- Exercise (solution): the share of trips paid by credit card (payment_type 1), rounded to 4 decimals.
SELECT ROUND(SAFE_DIVIDE(COUNTIF(payment_type = 1), COUNT(*)), 4) AS card_share
FROM `${project}.${dataset}.yellow_tripdata`
