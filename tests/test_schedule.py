"""How ``make test`` splits the items between xdist's workers (``group_of`` in conftest.py): the units that must run
on one worker, in order, still hold the tests and notebooks they were made for."""

from __future__ import annotations

from pathlib import Path

from conftest import GROUPS, group_of

ROOT = Path(__file__).resolve().parents[1]


def test_every_group_member_exists():
    for group, members in GROUPS.items():
        for member in members:
            path, _, test = member.partition("::")
            assert (ROOT / path).exists(), f"GROUPS[{group!r}] names {path}, which is gone"
            assert not test or f"def {test}(" in (ROOT / path).read_text(), f"GROUPS[{group!r}]: no test {member}"


def test_dbt_users_maven_users_and_each_weeks_notebooks_share_a_unit():
    dbt_users = ["tests/dbt/test_dbt.py::test_x", "tests/project/test_project.py::test_y[a]",
                 "tests/spark/test_spark.py::test_report_equals_the_dbt_mart",
                 "week_4_analytics_engineering/02_dbt_models.ipynb::Cell 3",
                 "week_7_project/02_reference_project.ipynb::Cell 0"]
    assert {group_of(n) for n in dbt_users} == {"dbt"}
    assert group_of("tests/project/test_project.py::test_check_cli_prints_the_score_table") == \
        "tests/project/test_project.py (rubric)"
    assert {group_of(n) for n in ("tests/streaming/test_kafka_streams.py::test_x",
                                  "week_6_streaming/08_kafka_streams.ipynb::Cell 1")} == {"week_6_streaming"}
    assert group_of("week_1_basics/02_ingest.ipynb::Cell 4") == group_of("week_1_basics/05_x.ipynb::Cell 0") == \
        "week_1_basics"
    # Any other test file is a unit of its own (its module fixtures start once, on one worker).
    assert group_of("tests/spark/test_spark.py::test_session") == "tests/spark/test_spark.py"
    assert group_of("tests/streaming/test_streaming.py::test_x[1]") == "tests/streaming/test_streaming.py"
