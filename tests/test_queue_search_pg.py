"""The queue's search on a real PostgreSQL server: the same cases as on SQLite
(tests/test_queue_search.py), found through the pg_trgm index made by migration 0022."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from dsar.extensions import db
from dsar.models import Request
from tests.postgres import pg_database, pg_server  # noqa: F401
from tests.test_queue_search import (  # noqa: F401 - collected here again, on PostgreSQL
    people,
    test_a_changed_or_removed_name_is_found_by_what_it_is_now,
    test_any_part_of_a_name_email_or_phone_finds_the_request,
    test_any_part_of_a_reference_finds_it_in_every_status,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_env(pg_database: str, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811
    monkeypatch.setenv("DSAR_TEST_DATABASE_URL", pg_database)
    return pg_database


@pytest.fixture
def env(pg_env: str, env: dict[str, str]) -> dict[str, str]:
    assert env["DATABASE_URL"] == pg_env
    return env


@pytest.fixture
def app(app: Flask) -> Flask:
    assert db.engine.dialect.name == "postgresql"
    return app


def test_a_search_reads_the_trigram_index_not_every_request(
    client: FlaskClient,
    login: Callable[[str], str],
    people: dict[str, Request],  # noqa: F811
) -> None:
    login("officer")
    assert client.get("/staff/queue?q=doe@exam").status_code == 200
    with db.engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))  # a handful of rows: force the choice
        plan = conn.execute(
            text("EXPLAIN SELECT id FROM requests WHERE search_text LIKE '%doe@exam%'")
        ).scalars()
        assert "ix_requests_search_trgm" in "\n".join(plan)
