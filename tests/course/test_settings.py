"""Settings: environment > config file > defaults, and clear errors for values the course cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest

from zoomcamp.settings import Settings, SettingsError, load_settings


def test_defaults_without_env_or_file(tmp_path):
    s = load_settings(environ={}, config=tmp_path / "missing.toml")
    assert s == Settings()
    assert s.backend == "local" and s.data_source == "sample" and s.postgres_port is None
    assert s.data_path == s.home / "data"


def test_file_overrides_defaults_and_env_overrides_file(tmp_path):
    config = tmp_path / "zoomcamp.toml"
    config.write_text('backend = "local"\nsample_rows = 1000\n[postgres]\nport = 6000\ndb = "taxi"\n')
    s = load_settings(environ={}, config=config)
    assert (s.postgres_port, s.postgres_db, s.sample_rows) == (6000, "taxi", 1000)
    s = load_settings(environ={"ZOOMCAMP_POSTGRES_PORT": "6001", "ZOOMCAMP_HOME": str(tmp_path / "h")}, config=config)
    assert s.postgres_port == 6001 and s.postgres_db == "taxi" and s.home == tmp_path / "h"
    assert isinstance(s.home, Path)


def test_gcp_backend_needs_a_project_and_a_bucket(tmp_path):
    with pytest.raises(SettingsError, match="gcp_project and gcs_bucket"):
        load_settings(environ={"ZOOMCAMP_BACKEND": "gcp"}, config=tmp_path / "none.toml")
    config = tmp_path / "zoomcamp.toml"
    config.write_text('backend = "gcp"\n[gcp]\nproject = "my-project"\n[gcs]\nbucket = "my-lake"\n')
    s = load_settings(environ={}, config=config)
    assert (s.backend, s.gcp_project, s.gcs_bucket) == ("gcp", "my-project", "my-lake")
    assert (s.gcs_endpoint, s.bq_endpoint) == (None, None)  # Google's own


def test_emulator_endpoints_stand_in_for_googles_and_must_be_urls(tmp_path):
    config = tmp_path / "zoomcamp.toml"
    config.write_text('[gcs]\nendpoint = "http://127.0.0.1:4443"\n[bq]\nendpoint = "http://127.0.0.1:9050/"\n')
    s = load_settings(environ={}, config=config)
    assert (s.gcs_endpoint, s.bq_endpoint) == ("http://127.0.0.1:4443", "http://127.0.0.1:9050/")
    with pytest.raises(SettingsError, match="bq_endpoint must be a URL such as http://127.0.0.1:4443, not '127"):
        load_settings(environ={"ZOOMCAMP_BQ_ENDPOINT": "127.0.0.1:9050"}, config=config)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"ZOOMCAMP_POSTGRES_PORT": "abc"}, "ZOOMCAMP_POSTGRES_PORT: postgres_port must be a number"),
        ({"ZOOMCAMP_POSTGRES_PORT": "70000"}, "between 1 and 65535"),
        ({"ZOOMCAMP_BACKEND": "aws"}, "backend must be one of local, gcp"),
        ({"ZOOMCAMP_DATA_SOURCE": "web"}, "data_source must be one of sample, download"),
    ],
)
def test_bad_values_name_the_setting(tmp_path, environ, message):
    with pytest.raises(SettingsError, match=message):
        load_settings(environ=environ, config=tmp_path / "none.toml")


def test_unknown_or_broken_config_file(tmp_path):
    config = tmp_path / "zoomcamp.toml"
    config.write_text("[postgres]\nprot = 1\n")
    with pytest.raises(SettingsError, match="unknown setting 'postgres_prot'"):
        load_settings(environ={}, config=config)
    config.write_text("backend = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(environ={}, config=config)


def test_the_example_config_parses_and_states_the_defaults(tmp_path):
    example = Path(__file__).resolve().parents[2] / "zoomcamp.example.toml"
    assert load_settings(environ={}, config=example) == Settings()
