SELECT count(*) AS trips FROM `${project}.${dataset}.${table}`
