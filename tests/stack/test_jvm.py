"""The course's JVM side: Java found and checked, the artifacts of shared/jvm resolved once, checked against
jvm.lock, offline afterwards; a damaged cache is repaired by the next setup; failures are one line naming the cause."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from zoomcamp import jvm

pytestmark = pytest.mark.stack  # starts, or needs, the local services

POM = "{http://maven.apache.org/POM/4.0.0}"


def test_every_bundle_of_the_pom_is_locked_with_its_pinned_versions():
    root = ET.parse(jvm.project_dir() / "pom.xml").getroot()
    modules = [m.text for m in root.iter(f"{POM}module")]
    properties = {p.tag.removeprefix(POM): p.text for p in root.find(f"{POM}properties")}
    locked = jvm.read_lock()
    assert sorted({j.bundle for j in locked}) == sorted(modules)
    files = {(j.bundle, j.file) for j in locked}
    assert ("kafka", f"kafka_2.13-{properties['kafka.version']}.jar") in files
    assert ("debezium-postgres", f"debezium-connector-postgres-{properties['debezium.version']}.jar") in files
    assert ("spark-kafka", f"spark-sql-kafka-0-10_2.13-{properties['spark.version']}.jar") in files
    assert ("flink", f"flink-sql-connector-kafka-{properties['flink-kafka.version']}.jar") in files
    assert ("flink", f"flink-connector-jdbc-postgres-{properties['flink-jdbc.version']}.jar") in files
    # Flink's own runtime and logging come from the PyFlink wheel: a second copy would clash on its class path.
    assert not [f for b, f in files if b == "flink" and f.startswith(("flink-connector-base", "log4j", "slf4j"))]
    assert all(re.fullmatch(r"[0-9a-f]{64}", j.sha256) and j.size > 0 for j in locked)


def test_spark_kafka_connector_fits_pyspark():
    import pyspark

    from zoomcamp.streaming import spark as streaming_spark

    (connector,) = [j.file for j in jvm.read_lock() if j.file.startswith("spark-sql-kafka")]
    # The newest connector Maven Central serves (4.2.0) with pyspark 4.3: same major version, tested end to end in
    # tests/streaming/test_spark_streaming.py.
    assert connector.split("_2.13-")[1].split(".")[0] == pyspark.__version__.split(".")[0]
    assert any(p.name == connector for p in streaming_spark.connector_jars())


def test_a_second_setup_resolves_nothing(settings):
    result = jvm.setup(settings)  # make setup already ran it for this checkout
    assert not result.resolved and result.jars == len(jvm.read_lock())
    assert [p.name for p in jvm.classpath("kafka", settings)] == sorted(
        j.file for j in jvm.read_lock() if j.bundle == "kafka")


@pytest.fixture
def cache_copy(settings, tmp_path):
    """A copy of the resolved jars (the real Maven repository behind it, read offline): safe to damage."""
    copy = tmp_path / "jvm"
    copy.mkdir()
    shutil.copytree(settings.jvm_path / "lib", copy / "lib")
    (copy / "m2").symlink_to(settings.jvm_path / "m2")
    return settings.replace(jvm_dir=copy)


def test_a_damaged_jar_is_one_line_and_the_next_setup_repairs_it(cache_copy):
    jar = next((cache_copy.jvm_path / "lib" / "kafka").glob("kafka-clients-*.jar"))
    expected = next(j for j in jvm.read_lock() if j.file == jar.name)
    with open(jar, "r+b") as f:
        f.truncate(1000)  # an interrupted copy
    with pytest.raises(jvm.JvmError, match=rf"kafka/{re.escape(jar.name)} differs from jvm.lock.*run `make setup`"):
        jvm.classpath("kafka", cache_copy)
    result = jvm.setup(cache_copy)  # offline: every jar is in the Maven repository already
    assert result.resolved and jar.stat().st_size == expected.size
    assert jvm._sha256(jar) == expected.sha256
    assert not (cache_copy.jvm_path / "lib.partial").exists() and not (cache_copy.jvm_path / "lib.old").exists()


def test_a_missing_bundle_names_setup(settings, tmp_path):
    with pytest.raises(jvm.JvmError, match=r"not set up \(kafka/.* is missing.*run `make setup`"):
        jvm.classpath("kafka", settings.replace(jvm_dir=tmp_path))
    with pytest.raises(jvm.JvmError, match="no bundle 'flink-kafka'.*bundles: debezium-postgres"):
        jvm.classpath("flink-kafka", settings)


def test_an_artifact_that_cannot_be_resolved_is_named(settings, tmp_path, monkeypatch):
    project = tmp_path / "project"
    shutil.copytree(jvm.project_dir(), project, ignore=shutil.ignore_patterns("target"))
    root = project / "pom.xml"  # one module is enough (and each Maven start costs seconds)
    root.write_text(re.sub(r"\s*<module>(?!kafka<).*?</module>", "", root.read_text()))
    pom = project / "kafka" / "pom.xml"
    pom.write_text(pom.read_text().replace("<artifactId>kafka-tools</artifactId>",
                                           "<artifactId>kafka-tools-that-does-not-exist</artifactId>"))
    monkeypatch.setattr(jvm, "project_dir", lambda: project)
    # Maven offline only, once (each start costs seconds; no network needed: Maven names the artifact either way).
    run_maven, runs = jvm._run_maven, []
    monkeypatch.setattr(jvm, "_run_maven", lambda lib, settings, offline: runs[0] if runs else
                        runs.append(run_maven(lib, settings, offline=True)) or runs[0])
    scratch = settings.replace(jvm_dir=tmp_path / "jvm")
    (tmp_path / "jvm").mkdir()
    (tmp_path / "jvm" / "m2").symlink_to(settings.jvm_path / "m2")
    with pytest.raises(jvm.JvmError) as caught:
        jvm.setup(scratch)
    message = str(caught.value)
    assert "org.apache.kafka:kafka-tools-that-does-not-exist:jar:" in message and "\n" not in message
    assert "run `make setup` again to resume" in message
    assert not (tmp_path / "jvm" / "lib").exists()  # nothing half-resolved is left as if it were whole


def test_maven_errors_are_reduced_to_the_artifact():
    output = ("[ERROR] Failed to execute goal on project kafka: Could not resolve dependencies for project "
              "org.zoomcamp.jvm:kafka:pom:1: Could not transfer artifact org.apache.kafka:kafka-tools:jar:4.4.0 "
              "from/to central-only (https://repo.maven.apache.org/maven2): Connection reset -> [Help 1]\n[ERROR] \n")
    assert jvm._maven_error(output) == "could not download org.apache.kafka:kafka-tools:jar:4.4.0 from Maven Central"
    cached = ("[ERROR] Failed to execute goal on project kafka: Could not resolve dependencies for project "
              "org.zoomcamp.jvm:kafka:pom:1: org.apache.kafka:connect-file:jar:4.4.0 was not found in "
              "https://repo.maven.apache.org/maven2 during a previous attempt. This failure was cached")
    assert jvm._maven_error(cached) == "could not download org.apache.kafka:connect-file:jar:4.4.0 from Maven Central"


def _fake_java(folder: Path, version: str) -> Path:
    java = folder / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f'#!/bin/sh\necho \'openjdk version "{version}"\' >&2\n')
    java.chmod(0o755)
    return folder


def test_java_too_old_or_missing_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(_fake_java(tmp_path / "jdk8", "1.8.0_292")))
    with pytest.raises(jvm.JvmError, match=r"is Java 8: the course needs Java 17 or newer"):
        jvm.java()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(jvm.JvmError, match="Java is not installed"):
        jvm.java()


def test_the_cli_reports_a_broken_cache_in_one_line(tmp_path):
    env = {**os.environ, "ZOOMCAMP_JVM_DIR": str(tmp_path)}
    zoomcamp = Path(sys.executable).with_name("zoomcamp")
    done = subprocess.run([str(zoomcamp), "jvm", "classpath", "kafka"], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 2 and "run `make setup`" in done.stderr and "Traceback" not in done.stderr


def test_a_class_data_archive_is_made_once_per_java_and_class_path(settings, tmp_path):
    """Made by one representative run (here a stand-in that writes the file the JVM would), used while the Java and
    the class path are those it was made with, replaced (the old one removed) when a jar changes."""
    jar = tmp_path / "app.jar"
    jar.write_bytes(b"v1")
    scratch = settings.replace(jvm_dir=tmp_path / "jvm")
    runs = []

    def run(options: str) -> None:
        runs.append(options)
        Path(options.removeprefix("-XX:ArchiveClassesAtExit=")).write_bytes(b"archive")

    assert jvm.archive_options("app", [jar], scratch) == ""  # none yet: the JVM starts as usual
    assert jvm.make_archive("app", [jar], run, scratch) and len(runs) == 1
    first = jvm.archive_path("app", [jar], scratch)
    assert jvm.archive_options("app", [jar], scratch).startswith(f"-XX:SharedArchiveFile={first} ")
    assert not jvm.make_archive("app", [jar], run, scratch) and len(runs) == 1  # made once
    jar.write_bytes(b"version 2")
    assert jvm.archive_options("app", [jar], scratch) == ""  # never a stale archive
    assert jvm.make_archive("app", [jar], run, scratch) and len(runs) == 2
    assert [p.name for p in (tmp_path / "jvm" / "cds").glob("*.jsa")] == [jvm.archive_path("app", [jar], scratch).name]


def test_a_run_that_writes_no_archive_is_one_line_and_leaves_nothing(settings, tmp_path):
    scratch = settings.replace(jvm_dir=tmp_path / "jvm")
    with pytest.raises(jvm.JvmError, match=r"^jvm: the app JVM wrote no class-data archive \(app-\w+\.jsa\.partial"):
        jvm.make_archive("app", [], lambda options: None, scratch)
    assert jvm.archive_options("app", [], scratch) == ""
    assert [p.name for p in (tmp_path / "jvm" / "cds").iterdir()] == ["app.lock"]


def test_a_jar_newer_than_its_pom_and_sources_is_not_built_again(settings, tmp_path, monkeypatch):
    """kstreams.build() in notebook 08 after `make setup` packaged the app: no Maven run (as make decides)."""
    project = tmp_path / "app"
    source = project / "src" / "main" / "java" / "App.java"
    source.parent.mkdir(parents=True)
    source.write_text("class App {}")
    (project / "pom.xml").write_text("<project/>")
    jar = project / "target" / "app.jar"
    jar.parent.mkdir()
    jar.write_bytes(b"jar")
    for path, seconds in ((source, 100), (project / "pom.xml", 100), (jar, 200)):
        os.utime(path, ns=(seconds * 10**9, seconds * 10**9))
    goals = []
    monkeypatch.setattr(jvm, "_project_maven", lambda pom, settings, run, offline: goals.append(run)
                        or subprocess.CompletedProcess([], 0, "", ""))
    assert jvm.build_java_project(project, settings) == jar and goals == []
    assert jvm.build_java_project(project, settings, tests=True) == jar and goals == [["package"]]  # tests: always
    os.utime(source, ns=(300 * 10**9, 300 * 10**9))  # edited after the jar was made
    assert jvm.build_java_project(project, settings) == jar and goals[-1] == ["package", "-DskipTests"]
