"""Spark on this machine (week 5): one way to start a SparkSession, the TLC schemas as Spark types, the revenue
report, spark-submit, and a standalone cluster (a master and a worker) started from the pip-installed pyspark.

>>> from zoomcamp import spark
>>> session = spark.session("my-app")                   # master from settings.spark_master (local[*])
>>> lake = spark.local_lake()                           # the lake as a folder Spark can read (see below)
>>> lake.ingest("green", "2021-01"); lake.ingest("yellow", "2021-01")
>>> green = spark.read_trips(session, "green", lake.uri("green"), months=["2021-01"])
>>> report = spark.revenue_report(green, yellow, spark.read_zones(session))
>>> with spark.Cluster() as cluster:                      # master + worker on 127.0.0.1, stopped at the end
...     spark.submit(spark.REVENUE_JOB, ["--month", "2021-01", ...], master=cluster.url)

**Where Spark reads from.** Week 2's lake is a bucket on the local GCS emulator. Spark reads ``gs://`` only through
the GCS connector jar, which Dataproc has built in but the pip pyspark does not ship (and which cannot be fetched
offline). So on this machine Spark reads a lake *folder* with the same layout, ``{type}/year=YYYY/month=MM/*.parquet``,
written by the same :class:`~zoomcamp.lake.Lake` code: ``settings.lake_url`` when that is a folder, else
``<home>/lake-local``. On Dataproc the same job reads ``gs://<bucket>/<type>`` unchanged (see week 5, notebook 07).

**Where the report goes.** :func:`to_warehouse` loads it into the course's local warehouse (PostgreSQL, table
``reports.monthly_zone_revenue``), replacing the month: the one function to change for BigQuery.

The package, one job a module: :mod:`.runtime` (Java, the pyspark distribution), :mod:`.session`, :mod:`.reading`
(schemas as Spark types, trips, zones, the local lake), :mod:`.report` (the revenue report and its warehouse load),
:mod:`.measure` (stages and tasks from the Spark UI), :mod:`.submit` (spark-submit). The standalone cluster is a
service of the local stack, :class:`zoomcamp.stack.spark.Cluster`, re-exported here.
"""

from ..stack.spark import Cluster
from .measure import Measured, measure
from .reading import local_lake, local_lake_url, read_trips, read_zones, struct_type
from .report import REPORT_COLUMNS, REVENUE_JOB, REVENUE_SQL, WAREHOUSE_TABLE, report_path, revenue_report, to_warehouse
from .runtime import QUICK_START_JAVA_OPTIONS, SparkError, check_java, spark_home
from .session import session
from .submit import Submitted, submit

__all__ = ["QUICK_START_JAVA_OPTIONS", "REPORT_COLUMNS", "REVENUE_JOB", "REVENUE_SQL", "WAREHOUSE_TABLE", "Cluster",
           "Measured", "SparkError", "Submitted", "check_java", "local_lake", "local_lake_url", "measure", "read_trips",
           "read_zones", "report_path", "revenue_report", "session", "spark_home", "struct_type", "submit",
           "to_warehouse"]
