-- Exercise 2 (solution): the table's total amount, to the cent.
SELECT ROUND(SUM(total_amount), 2) AS total FROM `${project}.${dataset}.${table}`
