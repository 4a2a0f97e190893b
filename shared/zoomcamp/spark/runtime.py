"""Spark's runtime on this machine: Java, the pip-installed pyspark distribution, and what its launch scripts must
see. The session, spark-submit and the standalone cluster (``stack/spark.py``) all start Spark through these."""

from __future__ import annotations

import sys
from pathlib import Path

from ..errors import CourseError
from ..jvm import JAVA_MIN

LOCAL_IP = "127.0.0.1"
MIN_JAVA = JAVA_MIN  # Spark 4 needs Java 17, as the course's other JVMs
# C1 JIT only, serial GC: on a laptop the JVM starts ~40% faster and small jobs' first runs take half the time; on
# millions of rows the full JIT wins by ~25% (bench/spark_report.py), so big jobs pass quick_start=False.
QUICK_START_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


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

    return Path(pyspark.__file__).parent


def launch_environment() -> dict[str, str]:
    """What Spark's launch scripts and the Python workers must see: this Python (executors run Python functions in
    the same environment as the driver) and the loopback address (no public interface, no hostname lookup)."""
    return {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable, "SPARK_LOCAL_IP": LOCAL_IP,
            "SPARK_HOME": str(spark_home())}
