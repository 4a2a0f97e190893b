"""What a Spark driver of the course typically does, run once by `zoomcamp jvm setup` with spark-submit so that its JVM
records the classes it loaded (Spark's class-data sharing archive, see zoomcamp.spark.runtime): a session, pandas in
and out, CSV and parquet written and read, SQL with a join, a window and an aggregate, and an RDD with a Python
function. Every later Spark JVM finds those classes ready-made."""

import tempfile
from pathlib import Path

import pandas as pd

from zoomcamp import spark as zspark

session = zspark.session("cds-workload", ui=True)
trips = session.createDataFrame(pd.DataFrame({
    "zone": [i % 7 for i in range(200)], "amount": [i * 0.5 for i in range(200)],
    "pickup": pd.date_range("2021-01-01", periods=200, freq="h")}))
with tempfile.TemporaryDirectory() as folder:
    trips.write.csv(str(Path(folder) / "csv"), header=True)
    trips.write.partitionBy("zone").parquet(str(Path(folder) / "parquet"))
    read = session.read.option("header", "true").option("inferSchema", "true").csv(str(Path(folder) / "csv"))
    read.union(session.read.parquet(str(Path(folder) / "parquet")).select("zone", "amount", "pickup")) \
        .createOrReplaceTempView("trips")
    zones = session.createDataFrame([(z, f"zone {z}") for z in range(7)], "id INT, name STRING")
    zones.createOrReplaceTempView("zones")
    report = session.sql("""
        SELECT name, date_trunc('month', pickup) AS month, count(*) AS trips, sum(amount) AS revenue,
               rank() OVER (ORDER BY sum(amount) DESC) AS place
        FROM trips JOIN zones ON trips.zone = zones.id GROUP BY name, date_trunc('month', pickup)""")
    report.explain()
    assert len(report.toPandas()) == 7
    counts = session.sparkContext.parallelize(range(100), 2).map(lambda x: (x % 3, 1)).reduceByKey(lambda a, b: a + b)
    assert sorted(counts.collect()) == [(0, 34), (1, 33), (2, 33)]
session.stop()
