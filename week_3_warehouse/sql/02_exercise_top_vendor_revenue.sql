-- Exercise 3 (solution): the vendor with the most revenue in the native yellow table, with QUALIFY.
SELECT VendorID, revenue
FROM (
  SELECT VendorID, ROUND(SUM(total_amount), 2) AS revenue
  FROM `${project}.${dataset}.yellow_tripdata`
  GROUP BY VendorID
)
WHERE true
QUALIFY ROW_NUMBER() OVER (ORDER BY revenue DESC) = 1
