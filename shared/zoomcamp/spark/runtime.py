"""Spark's runtime on this machine: Java, the pip-installed pyspark distribution, and what its launch scripts must
see. The session, spark-submit and the standalone cluster (``stack/spark.py``) all start Spark through these."""

from __future__ import annotations

import sys
from pathlib import Path

from .. import jvm
from ..errors import CourseError
from ..jvm import JAVA_MIN
from ..settings import Settings

LOCAL_IP = "127.0.0.1"
MIN_JAVA = JAVA_MIN  # Spark 4 needs Java 17, as the course's other JVMs
# C1 JIT only, serial GC: on a laptop the JVM starts ~40% faster and small jobs' first runs take half the time; on
# millions of rows the full JIT wins by ~25% (bench/spark_report.py), so big jobs pass quick_start=False.
QUICK_START_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
CDS_ARCHIVE = "spark"  # its class-data sharing archive, made by `zoomcamp jvm setup` (see zoomcamp.jvm)
CDS_WORKLOAD = Path(__file__).with_name("cds_workload.py")


class SparkError(CourseError, RuntimeError):
    """Spark cannot run here (no Java, or too old a one) or a job failed; the message says why."""


# --- Java and the pyspark distribution ------------------------------------------------------------------------------

def check_java() -> int:
    """The Java major version Spark will use; a clear error if there is none or it is too old."""
    from ..doctor import java_version

    found = java_version()
    if found is None or found < MIN_JAVA:
        what = f"Java {found} is too old" if found else "no Java was found (JAVA_HOME, PATH)"
        raise SparkError(f"Spark needs Java {MIN_JAVA} or newer and {what}: on Debian/Ubuntu run "
                         "`sudo apt-get install openjdk-17-jre-headless` (or `make setup` as root), elsewhere install "
                         "a JDK 17+ and set JAVA_HOME")
    return found


def spark_home() -> Path:
    """The pyspark distribution: its ``bin/`` (spark-submit, spark-class) and ``jars/``."""
    import pyspark

    home = Path(pyspark.__file__).parent
    while not (home / "jars").is_dir() and home != home.parent:  # under spark-submit: from python/lib/pyspark.zip
        home = home.parent
    return home


def launch_environment() -> dict[str, str]:
    """What Spark's launch scripts and the Python workers must see: this Python (executors run Python functions in
    the same environment as the driver) and the loopback address (no public interface, no hostname lookup)."""
    return {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable, "SPARK_LOCAL_IP": LOCAL_IP,
            "SPARK_HOME": str(spark_home())}


def classpath() -> list[Path]:
    """What Spark's launcher puts on every Spark JVM's class path: the distribution's ``conf/`` and ``jars/``."""
    home = spark_home()
    return [home / "conf", *sorted((home / "jars").glob("*.jar"))]


def java_options(quick_start: bool = True, settings: Settings | None = None) -> str:
    """The options of every Spark JVM the course starts (driver, executors, master, worker): the quick-start ones,
    and the class-data sharing archive when `zoomcamp jvm setup` made it (half the start-up CPU)."""
    options = [QUICK_START_JAVA_OPTIONS if quick_start else "", jvm.archive_options(CDS_ARCHIVE, classpath(), settings)]
    return " ".join(o for o in options if o)


def make_cds_archive(settings: Settings) -> bool:
    """Spark's class-data sharing archive, from one spark-submit of :data:`CDS_WORKLOAD` (False: it existed)."""
    from .submit import submit

    def run(options: str) -> None:
        submit(CDS_WORKLOAD, master="local[2]", settings=settings,
               conf={"spark.driver.extraJavaOptions": f"{QUICK_START_JAVA_OPTIONS} {options}"})

    return jvm.make_archive(CDS_ARCHIVE, classpath(), run, settings)
