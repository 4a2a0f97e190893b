-- Exercise 3 (solution): the borough with the most zones served by green cabs' 'Boro Zone' service.
SELECT Borough
FROM `${project}.${dataset}.dim_zones`
WHERE service_zone = 'Boro Zone'
GROUP BY Borough
ORDER BY count(*) DESC, Borough
LIMIT 1
