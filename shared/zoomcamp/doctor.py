"""``zoomcamp doctor``: is this machine ready for the course? Each check says what to fix."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass

from .settings import Settings, get_settings
from .stack import StackError
from .stack.base import port_is_free
from .stack.kafka import Kafka
from .stack.postgres import Postgres, find_bin_dir

MIN_FREE_GB = 5.0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True  # a failed optional check is a warning


def java_version() -> int | None:
    """The Java major version the course's JVM services (Kafka, Spark) would run on; None without Java."""
    from . import jvm

    found = jvm.find_java()
    return (jvm.java_version(found) or None) if found else None


def run_checks(settings: Settings | None = None) -> list[Check]:
    settings = settings or get_settings()
    checks = []

    py = sys.version_info
    checks.append(Check("Python", py >= (3, 11), f"{py.major}.{py.minor}.{py.micro} ({sys.executable})",
                        "install Python 3.11 or newer"))

    java = java_version()
    checks.append(Check(
        "Java (Kafka, Spark)", java is not None and java >= 17,
        f"Java {java}" if java else "not found",
        "sudo apt-get install openjdk-17-jdk-headless (or set JAVA_HOME)", required=False,
    ))

    try:
        checks.append(Check("PostgreSQL binaries", True, str(find_bin_dir(settings.postgres_bin))))
    except StackError as exc:
        checks.append(Check("PostgreSQL binaries", False, "not found", str(exc)))

    try:
        from .stack.gcs import binary

        checks.append(Check("GCS emulator (week 2)", True, binary().name, required=False))
    except StackError as exc:
        checks.append(Check("GCS emulator (week 2)", False, "not found", str(exc), required=False))

    try:
        from .stack.bigquery import emulator_version, spatial_extension_file

        detail = f"bqemulator {emulator_version()}, {spatial_extension_file().name} shipped (offline)"
        checks.append(Check("BigQuery emulator (week 3)", True, detail, required=False))
    except StackError as exc:
        checks.append(Check("BigQuery emulator (week 3)", False, "not ready", str(exc), required=False))

    try:
        from .jvm import JvmError, bundle_dir, maven

        try:
            maven()
            checks.append(Check("Maven (JVM artifacts)", True, "mvn found", required=False))
        except JvmError as exc:
            checks.append(Check("Maven (JVM artifacts)", False, "not found", str(exc), required=False))
        if settings.kafka_bootstrap:
            detail = f"external cluster {settings.kafka_bootstrap}"
        else:
            detail = f"Apache Kafka jars in {bundle_dir('kafka', settings)}"
        checks.append(Check("Kafka broker (week 6)", True, detail, required=False))
    except JvmError as exc:
        checks.append(Check("Kafka broker (week 6)", False, "not set up", str(exc), required=False))
    if not settings.kafka_bootstrap:
        broker = Kafka(settings).status()
        if broker.running:
            checks.append(Check("Kafka port", True, f"the course's broker is on {broker.details['port']}"))
        elif settings.kafka_port is not None:
            free = port_is_free(settings.kafka_port)
            checks.append(Check("Kafka port", free, f"configured {settings.kafka_port}: "
                                + ("free" if free else "in use by another program"),
                                "stop that program or set ZOOMCAMP_KAFKA_PORT to a free port", required=False))
        else:
            free = port_is_free(Kafka.default_port)
            checks.append(Check("Kafka port", True, "9092 free" if free else "9092 in use: the stack will pick a "
                                "free port", required=False))

    settings.home.mkdir(parents=True, exist_ok=True)
    free_gb = shutil.disk_usage(settings.home).free / 1e9
    checks.append(Check("Free disk", free_gb >= MIN_FREE_GB, f"{free_gb:,.1f} GB free in {settings.home}",
                        f"free at least {MIN_FREE_GB:.0f} GB, or set ZOOMCAMP_HOME to a bigger disk"))

    server = Postgres(settings)
    status = server.status()
    if status.running:
        checks.append(Check("PostgreSQL port", True, f"the course's server is on {status.details['port']}"))
    elif settings.postgres_port is not None:
        free = port_is_free(settings.postgres_port)
        checks.append(Check("PostgreSQL port", free, f"configured {settings.postgres_port}: "
                            + ("free" if free else "in use by another program"),
                            "stop that program or set ZOOMCAMP_POSTGRES_PORT to a free port"))
    else:
        free = port_is_free(Postgres.default_port)
        checks.append(Check("PostgreSQL port", True,
                            "5432 free" if free else "5432 in use: the stack will pick a free port", required=False))

    if os.geteuid() == 0:
        import pwd

        try:
            pwd.getpwnam("postgres")
            checks.append(Check("postgres user (running as root)", True, "exists: the server runs as it"))
        except KeyError:
            checks.append(Check("postgres user (running as root)", False, "missing",
                                "sudo apt-get install postgresql (creates it), or run as a normal user"))
    return checks
