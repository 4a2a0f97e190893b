"""Week 6's Kafka Streams app: its TopologyTestDriver tests run offline (`mvn -o test`) with the course's Maven
repository, which `make setup` filled (zoomcamp.jvm.prepare_projects)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from zoomcamp import jvm
from zoomcamp.settings import project_root

pytestmark = pytest.mark.stack  # starts, or needs, the local services

PROJECT = project_root() / "week_6_streaming" / "java"


def test_topology_tests_pass_offline(settings):
    reports = PROJECT / "target" / "surefire-reports"
    for old in reports.glob("TEST-*.xml"):
        old.unlink()  # only this run's reports count
    done = jvm._project_maven(PROJECT / "pom.xml", settings, ["test"], offline=True)
    assert done.returncode == 0, jvm._maven_error(done.stdout + done.stderr)
    suites = [ET.parse(path).getroot() for path in reports.glob("TEST-*.xml")]
    assert suites, "surefire wrote no report"
    count = lambda key: sum(int(s.get(key, 0)) for s in suites)  # noqa: E731
    assert count("tests") >= 6
    assert count("failures") == count("errors") == count("skipped") == 0


def test_a_second_setup_does_not_build_again(settings):
    assert jvm.prepare_project(PROJECT, settings) is False  # the stamp matches the pom
