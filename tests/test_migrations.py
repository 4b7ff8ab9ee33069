"""Migrations run on databases that hold data: SQLite must never rebuild a table other
tables reference (with foreign keys on, dropping it fails), and nothing stored is lost."""

from __future__ import annotations

from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text

from dsar.config import ROOT
from dsar.extensions import db
from dsar.models import Event, Request, Task
from dsar.services import api_keys, intake

MIGRATIONS = str(ROOT / "migrations")


def counts() -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Request, Task, Event)
    )


def test_the_latest_migrations_go_down_and_up_on_a_database_full_of_requests(
    app: Flask, demo_systems: list[str]
) -> None:
    key, _ = api_keys.create("tests")
    for kind in ("access", "deletion", "opt_out"):
        intake.submit(
            intake.Submission(kind=kind, regime="gdpr", name="Jane Doe", email="jane@example.com"),
            channel="api",
            api_key=key,
            identity_verified=True,
        )
    before = counts()
    assert before[0] == 3 and before[1] > 0
    db.session.remove()
    downgrade(directory=MIGRATIONS, revision="0009")
    upgrade(directory=MIGRATIONS)
    db.session.remove()
    assert counts() == before
    leftovers = (
        db.session.scalars(
            text("SELECT name FROM sqlite_master WHERE name LIKE '_alembic_tmp%'")
        ).all()
        if db.engine.dialect.name == "sqlite"
        else []
    )
    assert leftovers == []
    # Migration 0022 folded the requests it found for the staff search, and indexed them.
    lines = db.session.scalars(select(Request.search_text)).all()
    assert lines and all(" jane doe jane@example.com " in line for line in lines)
    if db.engine.dialect.name == "sqlite":
        matched = db.session.scalars(
            text("SELECT rowid FROM requests_search WHERE requests_search MATCH '\"jane doe\"'")
        ).all()
        assert len(matched) == 3
