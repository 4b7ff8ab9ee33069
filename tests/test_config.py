"""Settings come from the environment; bad ones stop the process with a clear message."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsar.access_log import redact
from dsar.config import ConfigError, database_url, from_env, limiter_storage


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY must be set when DSAR_ENV=production"):
        from_env({"DSAR_ENV": "production"}, instance=tmp_path)


def test_development_keeps_one_random_key_per_instance(tmp_path: Path) -> None:
    first = from_env({}, instance=tmp_path)["SECRET_KEY"]
    assert len(first) > 40
    assert from_env({}, instance=tmp_path)["SECRET_KEY"] == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DSAR_ENV": "staging"}, "DSAR_ENV must be development, production or testing"),
        ({"DSAR_TIMEZONE": "Mars/Olympus"}, "is not a known time zone"),
        ({"DSAR_PORT": "eighty"}, "DSAR_PORT must be a whole number"),
        ({"DSAR_WORKERS": "0"}, "DSAR_WORKERS must be at least 1"),
        ({"DSAR_RETRY_INTERVALS": "5,soon"}, "must be comma-separated seconds"),
    ],
)
def test_malformed_settings_are_named(tmp_path: Path, env: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_env({"SECRET_KEY": "k", **env}, instance=tmp_path)


def test_defaults_point_at_the_instance_folder(tmp_path: Path) -> None:
    cfg = from_env({"SECRET_KEY": "k"}, instance=tmp_path)
    assert cfg["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/dsar.db"
    assert cfg["REDIS_URL"] == f"unix://{tmp_path}/redis.sock"
    assert cfg["DSAR_EMBEDDED_REDIS"] is True
    assert cfg["RATELIMIT_STORAGE_URI"] == f"redis+unix://{tmp_path}/redis.sock"
    assert cfg["DSAR_BASE_URL"] == "http://127.0.0.1:5000"


def test_urls_are_translated_for_the_drivers_dsar_ships() -> None:
    assert database_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert database_url("postgresql://h/db") == "postgresql+psycopg://h/db"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"
    assert limiter_storage("redis://r:6379/0") == "redis://r:6379/0"


def test_access_log_paths_hide_link_tokens() -> None:
    assert redact("/r/abcDEF123/verify/XyZ") == "/r/…/verify/…"
    assert redact("/r/abcDEF123/response.pdf") == "/r/…/response.pdf"
    assert redact("/task/Zx-9_secret?x=1") == "/task/…?x=1"
    assert redact("/choices/open/cdPHWU8Ptv3k_-x") == "/choices/open/…"
    assert redact("/choices/mine") == "/choices/mine"
    assert redact("/api/v1/requests/DSAR-2026-000001") == "/api/v1/requests/DSAR-2026-000001"
