"""`flask dsar explain-deadline`: one JSON object on success, a plain usage error otherwise."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import Result
from flask import Flask


def explain(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["dsar", "explain-deadline", *args])


def explained(app: Flask, *args: str) -> dict[str, Any]:
    result = explain(app, *args)
    assert result.exit_code == 0, result.output
    assert result.exception is None
    data = json.loads(result.stdout)  # the whole output is one JSON object
    assert isinstance(data, dict)
    assert set(data) == {"acknowledge_by", "respond_by", "extended_respond_by", "trace"}
    assert isinstance(data["trace"], list)
    assert data["trace"]
    assert all(isinstance(step, str) and step for step in data["trace"])
    return data


def test_gdpr_access(app: Flask) -> None:
    data = explained(app, "--regime", "gdpr", "--kind", "access", "--received", "2026-01-16")
    assert data["respond_by"] == "2026-02-16"
    assert data["acknowledge_by"] is None
    assert data["extended_respond_by"] is None
    assert "Friday 16 January 2026" in data["trace"][0]
    assert any("GDPR Art. 12(3)" in step for step in data["trace"])


def test_uk_gdpr_extended_from_the_last_day_of_january(app: Flask) -> None:
    data = explained(
        app, "--regime", "uk_gdpr", "--kind", "access", "--received", "2026-01-31", "--extended"
    )
    assert data["respond_by"] == data["extended_respond_by"] == "2026-04-30"
    assert any(step.startswith("Extended on") for step in data["trace"])


def test_ccpa_access_over_thanksgiving_and_new_year(app: Flask) -> None:
    data = explained(app, "--regime", "ccpa", "--kind", "access", "--received", "2026-11-23")
    assert data["acknowledge_by"] == "2026-12-09"
    assert data["respond_by"] == "2027-01-07"
    assert data["extended_respond_by"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--regime", "atlantis", "--kind", "access", "--received", "2026-01-16"],
            "Invalid value for '--regime'",
        ),
        (
            ["--regime", "qc_law25", "--kind", "deletion", "--received", "2026-01-16"],
            "gives no deletion right",
        ),
        (
            ["--regime", "lgpd", "--kind", "access", "--received", "2026-01-16", "--extended"],
            "allows no extension",
        ),
        (
            ["--regime", "gdpr", "--kind", "access", "--received", "2026-13-01"],
            "Invalid value for '--received'",
        ),
        (
            ["--regime", "gdpr", "--kind", "teleport", "--received", "2026-01-16"],
            "Invalid value for '--kind'",
        ),
        (["--regime", "gdpr", "--kind", "access"], "Missing option '--received'"),
    ],
)
def test_bad_input_is_a_usage_error(app: Flask, args: list[str], message: str) -> None:
    result = explain(app, *args)
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""  # no half-written JSON
