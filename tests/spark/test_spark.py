"""Week 5's Spark: schemas from the course's table, the revenue report equal to week 4's dbt mart on the same data, the
job submitted to a standalone cluster started here, and the Airflow DAG run end to end into the warehouse."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from zoomcamp import datasets, db, dbt
from zoomcamp import spark as zspark
from zoomcamp.settings import Settings, SettingsError

pytestmark = pytest.mark.stack

KEY = ["revenue_locationid", "revenue_month", "service_type"]
AMOUNTS = [c for c in zspark.REPORT_COLUMNS if c.startswith(("revenue_monthly", "avg_"))]


def same_report(left: pd.DataFrame, right: pd.DataFrame) -> None:
    """Row for row: the same keys and zones, the same trip counts, amounts equal to the cent (sums of doubles in one,
    of decimals in the other)."""
    frames = []
    for frame in (left, right):
        frame = frame[zspark.REPORT_COLUMNS].copy()
        frame["revenue_month"] = pd.to_datetime(frame["revenue_month"]).astype("datetime64[us]")
        frame = frame.astype({"revenue_locationid": "int64", "revenue_zone": "str", "service_type": "str"})
        frame[AMOUNTS] = frame[AMOUNTS].astype(float)
        frame["total_monthly_trips"] = frame["total_monthly_trips"].astype(int)
        frames.append(frame.sort_values(KEY, ignore_index=True))
    left, right = frames
    assert len(left) == len(right) > 0
    exact = [*KEY, "revenue_zone", "total_monthly_trips"]
    pd.testing.assert_frame_equal(left[exact], right[exact], check_dtype=False)
    for column in AMOUNTS:
        assert np.allclose(left[column], right[column], rtol=1e-9, atol=1e-6, equal_nan=True), column


@pytest.fixture(scope="module")
def session(settings):
    spark = zspark.session("test_spark", master="local[2]", shuffle_partitions=4, ui=False, settings=settings)
    yield spark
    spark.stop()


def csv_report(session, settings, month: str = "2021-01", *, only_month: bool = False) -> pd.DataFrame:
    """The report computed in this process from the month's CSV files (all pickup months in them, or only_month)."""
    trips = {kind: zspark.read_trips(session, kind, str(datasets.trip_file(kind, month, settings=settings)))
             for kind in ("green", "yellow")}
    report = zspark.revenue_report(trips["green"], trips["yellow"], zspark.read_zones(session),
                                   month=month if only_month else None)
    return report.toPandas()


def test_struct_types_come_from_the_schema_table():
    for kind in ("yellow", "green", "fhv", "fhvhv", "zones"):
        for fmt in ("csv", "parquet"):
            struct = zspark.struct_type(kind, fmt)
            expected = datasets.columns(kind, fmt=fmt)
            assert [f.name for f in struct.fields] == [c.name for c in expected]
            assert [f.dataType.typeName() for f in struct.fields] == [
                {"int64": "long", "float64": "double", "string": "string", "timestamp": "timestamp_ntz"}[c.type]
                for c in expected]


def test_missing_java_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(zspark.SparkError, match="apt-get install openjdk-17"):
        zspark.check_java()
    with pytest.raises(zspark.SparkError, match="Java 17"):
        zspark.Cluster().start()


def test_spark_master_is_a_checked_setting():
    assert Settings().spark_master == "local[*]"
    assert Settings(spark_master="spark://127.0.0.1:7077").spark_master.startswith("spark://")
    with pytest.raises(SettingsError, match="spark_master"):
        Settings(spark_master="localhost:7077")
    with pytest.raises(SettingsError, match="spark_master"):
        Settings(spark_master="local[two]")


def test_csv_read_matches_pandas(session, settings):
    path = datasets.trip_file("yellow", "2021-01", settings=settings)
    frame = zspark.read_trips(session, "yellow", str(path))
    expected = datasets.read_csv(path)
    assert frame.count() == len(expected)
    totals = frame.selectExpr("sum(total_amount)", "count(passenger_count)", "max(tpep_pickup_datetime)").first()
    assert totals[0] == pytest.approx(expected["total_amount"].sum())
    assert totals[1] == expected["passenger_count"].notna().sum()
    assert pd.Timestamp(totals[2]) == expected["tpep_pickup_datetime"].max()


def test_dez_reads_the_fhvhv_csv_with_its_own_schema(session, settings, tmp_path):
    """DEZ's week 5 notebook reads fhvhv_tripdata_2021-01.csv with its 7-column schema, by position (Spark's
    default enforceSchema): the sample has that layout, so no column comes out NULL."""
    from pyspark.sql import types

    schema = types.StructType([  # DEZ's 04_pyspark notebook
        types.StructField("hvfhs_license_num", types.StringType(), True),
        types.StructField("dispatching_base_num", types.StringType(), True),
        types.StructField("pickup_datetime", types.TimestampType(), True),
        types.StructField("dropoff_datetime", types.TimestampType(), True),
        types.StructField("PULocationID", types.IntegerType(), True),
        types.StructField("DOLocationID", types.IntegerType(), True),
        types.StructField("SR_Flag", types.StringType(), True),
    ])
    path = datasets.trip_file("fhvhv", "2021-01", settings=settings)
    df = session.read.option("header", "true").schema(schema).csv(str(path))
    expected = datasets.read_csv(path)
    got = df.selectExpr("count(*)", "count(pickup_datetime)", "count(PULocationID)", "count(DOLocationID)",
                        "sum(PULocationID)", "count(SR_Flag)").first()
    assert list(got) == [len(expected), len(expected), len(expected), len(expected),
                         expected["PULocationID"].sum(), expected["SR_Flag"].notna().sum()]
    hv3 = df.filter(df.hvfhs_license_num == "HV0003").count()
    assert hv3 == (expected["hvfhs_license_num"] == "HV0003").sum() > 0
    # The course's reader, given a CSV of the parquet layout, refuses it in one line before Spark reads it.
    wrong = tmp_path / "fhvhv_tripdata_2021-01.csv"
    pd.read_parquet(datasets.trip_file("fhvhv", "2021-01", "parquet", settings=settings)).to_csv(wrong, index=False)
    with pytest.raises(datasets.BadFile, match="24-column layout of the fhvhv parquet files"):
        zspark.read_trips(session, "fhvhv", str(wrong))
    assert zspark.read_trips(session, "fhvhv", str(path)).where("pickup_datetime IS NULL").count() == 0


def test_report_equals_the_dbt_mart(session, settings, tmp_path):
    """The Spark report and week 4's dm_monthly_zone_revenue (built by dbt on DuckDB) from the same files."""
    dbt.load_raw("duckdb", ["2021-01"], kinds=["green", "yellow"], settings=settings)
    build = dbt.run("build", "--select", "+dm_monthly_zone_revenue", "--full-refresh", target="duckdb",
                    target_path=tmp_path, settings=settings)
    assert build.success, build.failed()
    mart = dbt.query("SELECT * FROM dbt_dev.dm_monthly_zone_revenue", "duckdb", settings)
    spark_report = csv_report(session, settings)
    same_report(spark_report, mart)
    # Not a trivial match: dirty rows (other months, duplicates, unknown zones) were handled the same way.
    assert spark_report["revenue_month"].nunique() > 1


def test_a_submitted_job_writes_the_in_process_report(session, settings, tmp_path):
    """The revenue job run by spark-submit (its own driver JVM) writes, row for row, the report computed in this
    process. The standalone cluster (a master and a worker started and stopped, the job submitted to it and
    FINISHED, its per-service totals) is week 5's notebook 07, which nbval runs: not started a second time here."""
    lake = zspark.local_lake(settings)
    for kind in ("green", "yellow"):
        lake.ingest(kind, "2021-01", progress=False)
    output = tmp_path / "report"
    submitted = zspark.submit(zspark.REVENUE_JOB, [
        "--green", lake.uri("green"), "--yellow", lake.uri("yellow"), "--zones", str(datasets.zones_file()),
        "--month", "2021-01", "--output", str(output)], master="local[1]", settings=settings)
    line = next(x for x in submitted.log.read_text().splitlines() if x.startswith("REVENUE-REPORT "))
    summary = json.loads(line.removeprefix("REVENUE-REPORT "))
    assert summary["master"] == "local[1]"
    written = pd.read_parquet(output)
    assert summary["rows"] == len(written)
    same_report(written, csv_report(session, settings, "2021-01", only_month=True))


def test_failed_job_reports_its_error(settings, tmp_path):
    script = tmp_path / "broken.py"
    script.write_text("raise SystemExit('the input is missing')\n")
    with pytest.raises(zspark.SparkError, match="the input is missing"):
        zspark.submit(script, master="local[1]", settings=settings)


def test_warehouse_load_replaces_the_month(settings):
    """A re-run (or a retry) of the load leaves exactly the month's rows; other months are untouched."""
    month, other = "2009-01", "2009-02"
    row = {c: 1.0 for c in zspark.REPORT_COLUMNS} | {"revenue_locationid": 1, "revenue_zone": "Z",
                                                     "service_type": "Green", "total_monthly_trips": 3}
    report = pd.DataFrame([row | {"revenue_month": pd.Timestamp(f"{month}-01")}] * 2)
    for _ in range(2):
        assert zspark.to_warehouse(report, month, settings=settings) == 2
    zspark.to_warehouse(pd.DataFrame([row | {"revenue_month": pd.Timestamp(f"{other}-01")}]), other, settings=settings)
    counts = db.query(f"SELECT revenue_month, count(*) AS n FROM {zspark.WAREHOUSE_TABLE} "
                      "WHERE revenue_month < '2010-01-01' GROUP BY 1 ORDER BY 1")
    assert counts["n"].tolist() == [2, 1]
    with pytest.raises(zspark.SparkError, match="holds rows of 2009-02"):
        zspark.to_warehouse(report.assign(revenue_month=pd.Timestamp(f"{other}-01")), month, settings=settings)
    db.execute(f"DELETE FROM {zspark.WAREHOUSE_TABLE} WHERE revenue_month < '2010-01-01'")


def test_week5_homework_answered_with_spark_is_graded_right(session, settings, write_answers):
    """The homework is answerable with Spark, and Spark's answers agree with the checker's pyarrow computation."""
    from pyspark.sql import functions as F

    from zoomcamp import homework
    from zoomcamp.weeks import week_5

    lake = zspark.local_lake(settings)
    lake.ingest("yellow", "2021-01", progress=False)
    out = settings.home / week_5.HOMEWORK_OUTPUT
    if out.exists():
        shutil.rmtree(out)
    before = {g.question: g for g in homework.grade(5, write_answers({}), settings)}
    assert "cannot check yet" in before["q2"].note and before["q3"].expected is not None

    trips = zspark.read_trips(session, "yellow", lake.uri("yellow"), months="2021-01")
    trips.repartition(4).write.mode("overwrite").parquet(str(out))
    files = list(out.glob("*.parquet"))
    pickup, dropoff = F.col("tpep_pickup_datetime"), F.col("tpep_dropoff_datetime")
    longest = trips.select(F.max(F.unix_timestamp(dropoff) - F.unix_timestamp(pickup))).first()[0]
    zones = zspark.read_zones(session, settings=settings)
    least = (trips.join(zones, trips["PULocationID"] == zones["LocationID"]).groupBy("Zone").count()
             .orderBy("count", "Zone").first()["Zone"])
    answers = {"q1": session.version, "q2": round(sum(f.stat().st_size for f in files) / len(files) / 1e6, 2),
               "q3": trips.filter(F.to_date(pickup) == "2021-01-15").count(), "q4": round(longest / 3600, 2),
               "q5": least}
    assert len(files) == 4
    assert [g.correct for g in homework.grade(5, write_answers(answers), settings)] == [True] * 5
    wrong = dict(answers, q3=answers["q3"] + 1, q5="Nowhere")
    assert [g.correct for g in homework.grade(5, write_answers(wrong), settings)] == [True, True, False, True, False]


def test_reset_week_5_removes_what_the_week_made(settings):
    """Last in this file: the notebooks (run after the tests) make everything again."""
    from zoomcamp import course

    lake = zspark.local_lake(settings)
    lake.ingest("green", "2021-01", progress=False)
    zspark.report_path("2021-01", settings).mkdir(parents=True, exist_ok=True)
    zspark.to_warehouse(pd.DataFrame(columns=zspark.REPORT_COLUMNS), "2021-01", settings=settings)
    removed = course.reset(5, settings=settings)[5]
    assert str(settings.home / "spark") in removed and any(r.startswith("schema reports") for r in removed)
    assert not (settings.home / "spark").exists() and not (settings.home / "lake-local").exists()
    assert db.query("SELECT 1 FROM pg_namespace WHERE nspname = 'reports'", settings=settings).empty
    assert course.reset(5, settings=settings)[5] == []  # nothing left: a second reset removes nothing


def test_submit_resolves_the_script_and_its_arguments_where_they_were_typed(settings, tmp_path, monkeypatch):
    """`zoomcamp spark submit week_5_batch/jobs/...` failed for everyone: the script was checked from the current
    folder and run from the course home, where a relative --output also landed, silently."""
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "write.py").write_text("import sys\nopen(sys.argv[1], 'w').write('written')\n")
    monkeypatch.chdir(tmp_path)
    zspark.submit("jobs/write.py", ["out.txt"], master="local[1]", settings=settings)
    assert (tmp_path / "out.txt").read_text() == "written"
    assert not (settings.home / "out.txt").exists()


def test_the_revenue_job_says_in_one_line_that_the_lake_is_missing(tmp_path, monkeypatch, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("revenue_report", zspark.REVENUE_JOB)
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        job.main(["--green", "LAKE/green", "--yellow", "LAKE/yellow", "--zones", "z.csv", "--output", "out"])
    assert exit_.value.code == 2
    message = capsys.readouterr().err.strip().splitlines()
    assert len(message) == 1 and "--green LAKE/green: no such file or folder" in message[0]
    assert "zoomcamp lake ingest green 2021-01" in message[0]


def test_a_new_session_prints_nothing_on_stderr(settings):
    """A notebook's first Spark cell showed the JVM's start-up warnings in a red stderr box."""
    code = "from zoomcamp import spark\ns = spark.session('quiet')\nprint(s.range(3).count())\ns.stop()\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "3" and result.stderr == ""
    logs = sorted((settings.home / "spark" / "logs").glob("driver-*.log"), key=lambda p: p.stat().st_mtime)
    assert "log4j" in logs[-1].read_text()  # kept, for whoever needs them


def test_spark_jvms_map_the_class_data_archive_and_a_mismatch_is_silent(settings):
    """`zoomcamp jvm setup` made Spark's class-data archive (half a JVM's start-up CPU): every Spark JVM is given it,
    and it fits their class path (-Xshare:on refuses to start otherwise). A JVM it does not fit runs without it, and
    says nothing about it (it would on stdout: in a notebook's output)."""
    import os

    from zoomcamp import jvm
    from zoomcamp.spark import runtime

    runtime.make_cds_archive(settings)  # made by make setup already: then nothing to do
    options = runtime.java_options(settings=settings)
    assert "-XX:SharedArchiveFile=" in options and runtime.QUICK_START_JAVA_OPTIONS in options
    env = {**os.environ, **runtime.launch_environment(), "SPARK_DAEMON_JAVA_OPTS": f"{options} -Xshare:on"}
    master = subprocess.run([str(runtime.spark_home() / "bin" / "spark-class"), "org.apache.spark.deploy.master.Master",
                             "--help"], env=env, capture_output=True, text=True, timeout=120)
    assert "Usage: Master" in master.stderr and "shared archive" not in master.stdout + master.stderr
    # A submitted job's driver (pyspark imported from Spark's pyspark.zip there) gives its executors the same options.
    script = settings.home / "spark" / "options.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text("from zoomcamp.spark import runtime\nprint('OPTIONS', runtime.java_options())\n")
    log = zspark.submit(script, master="local[1]", settings=settings).log.read_text()
    assert f"OPTIONS {options}" in log.splitlines()
    # Not Spark's class path: the JVM says so, unless given the course's options (which silence it).
    elsewhere = ["-cp", str(settings.home), "-version"]
    archive = options.split("-XX:SharedArchiveFile=")[1].split()[0]
    loud = subprocess.run([str(jvm.java()), f"-XX:SharedArchiveFile={archive}", *elsewhere], capture_output=True,
                          text=True)
    assert "Unable to use shared archive" in loud.stdout
    quiet = subprocess.run([str(jvm.java()), *runtime.java_options(False, settings).split(), *elsewhere],
                           capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stdout == ""
