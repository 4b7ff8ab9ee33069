"""dsar's own copies of personal data: kept out of logs, out of other users' reach on disk, out
of caches, and never turned into spreadsheet formulas."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from dsar import create_app, spreadsheets
from dsar.extensions import db
from dsar.models import Document, Request, RequestStatus, Task
from dsar.services import answers, api_keys, intake, workflow
from tests.conftest import api_headers, body_of, csrf_token, download_answer, link_in, staff_post

JANE = {"name": "Jane Doe", "email": "jane.doe@example.com", "phone": "+44 20 7946 0958"}
# What the logs must never hold about the demo person, in any spelling a log could use.
IDENTITY = [
    "Jane Doe",
    "jane.doe@example.com",
    "JANE.DOE@EXAMPLE.COM",
    "j.doe.old@example.com",
    "7946 0958",
    "79460958",
    "Doe & Partners",
]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- logs --------------------------------------------------------------------------------


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))  # with the traceback, if any


@pytest.fixture
def logs() -> Iterator[Collector]:
    """Everything logged in this process at DEBUG, SQL statements included."""
    collector = Collector()
    loggers = [logging.getLogger(), logging.getLogger("dsar"), logging.getLogger("sqlalchemy")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(collector)
        logger.setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    yield collector
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(collector)
        logger.setLevel(level)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)


def submit(client: FlaskClient, kind: str, regime: str = "gdpr") -> str:
    data = {"csrf_token": csrf_token(client, "/request"), "kind": kind, "regime": regime, **JANE}
    resp = client.post("/request", data=data)
    assert resp.status_code == 302
    return resp.headers["Location"]


def requests_of(kind: str) -> Request:
    return db.session.scalars(select(Request).where(Request.kind == kind)).one()


@pytest.mark.slow
def test_the_end_to_end_paths_log_no_identity_link_or_code(
    app: Flask,
    client: FlaskClient,
    demo_archive: str,
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
    login: Callable[[str], str],
    logs: Collector,
) -> None:
    secrets: list[str] = []

    def settled(kind: str) -> Callable[[], bool]:
        """Every system of the request answered, or waits for the archive's owner."""
        waiting = {"succeeded", "action_required"}
        return lambda: all(t.status.value in waiting for t in requests_of(kind).tasks)

    def owner_reports(outcome: str, count: str) -> None:
        """The archive's owner answers the newest link not used yet."""
        links = [
            re.findall(r"http://dsar\.test(/task/[A-Za-z0-9_-]+)", body_of(m)) for m in outbox()
        ]
        path = next(
            p for found in reversed(links) for p in found if p.rsplit("/", 1)[1] not in secrets
        )
        secrets.append(path.rsplit("/", 1)[1])
        data = {"csrf_token": csrf_token(client, path), "outcome": outcome, "count": count}
        assert client.post(path, data=data).status_code == 200

    def confirm(verify: str) -> None:
        secrets.append(verify.rsplit("/", 1)[1])
        path = verify.removeprefix("http://dsar.test")
        client.post(path, data={"csrf_token": csrf_token(client, path)})

    # An access request through the portal, confirmed by email; the archive's owner reports.
    status = submit(client, "access")
    secrets.append(status.rsplit("/", 1)[1])
    confirm(link_in(outbox()[-1], r"http://dsar\.test/r/\S+/verify/\S+"))
    run_workers(settled("access"))
    owner_reports("found", "2")
    run_workers(lambda: requests_of("access").status is RequestStatus.COMPLETED)
    assert download_answer(client, status, outbox).startswith(b"%PDF")
    code = re.search(r"^\s+(\d{8})\s*$", body_of(outbox()[-1]), re.MULTILINE)
    assert code
    secrets.append(code.group(1))

    # A deletion: a dry run, the owner's count, an officer's approval, the erasure.
    submit(client, "deletion")
    confirm(link_in(outbox()[-1], r"http://dsar\.test/r/\S+/verify/\S+"))
    run_workers(settled("deletion"))
    owner_reports("found", "1")
    run_workers(lambda: requests_of("deletion").status is RequestStatus.AWAITING_APPROVAL)
    deletion = requests_of("deletion")
    login("officer")
    staff_post(client, deletion.reference, "approve")
    run_workers(settled("deletion"))
    owner_reports("erased", "1")

    # An opt-out over the API with a vouched identity, and a GPC signal.
    _, secret = api_keys.create("crm", scopes=api_keys.SCOPES)
    secrets.append(secret)
    resp = client.post(
        "/api/v1/requests",
        json={**JANE, "kind": "opt_out", "regime": "ccpa", "identity_verified": True},
        headers=api_headers(secret),
    )
    assert resp.status_code == 201
    secrets.append(resp.json["tracking_url"].rsplit("/", 1)[1])
    gpc = client.post(
        "/gpc",
        data={"csrf_token": csrf_token(client, "/request"), "gpc-email": JANE["email"]},
        headers={"Sec-GPC": "1"},
    )
    assert gpc.status_code == 302
    run_workers(
        lambda: all(
            t.status.value in {"succeeded", "action_required"}
            for t in db.session.scalars(select(Task))
        )
    )
    for _ in range(2):  # the two opt-outs wait for the archive's owner too
        owner_reports("opted_out", "1")
    run_workers(
        lambda: all(
            r.status is RequestStatus.COMPLETED for r in db.session.scalars(select(Request))
        )
    )

    # A database error on a row full of identity prints no parameters.
    with pytest.raises(IntegrityError) as failed:
        db.session.execute(
            insert(Request).values(
                tracking_hash=deletion.tracking_hash,  # taken: the insert fails
                kind="access",
                regime="gdpr",
                status="received",
                channel="portal",
                due_on=deletion.due_on,
                **JANE,
            )
        )
    db.session.rollback()
    logging.getLogger("dsar").exception("an insert failed")

    text = "\n".join(logs.lines + run_workers.logs)  # type: ignore[attr-defined]
    assert "SELECT" in text and "[SQL parameters hidden" in str(failed.value)
    found = [s for s in IDENTITY + secrets if s in text]
    assert found == [], [line for line in text.splitlines() if any(s in line for s in found)][:5]


def test_links_are_logged_in_development_only(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, logs: Collector
) -> None:
    from flask_migrate import upgrade

    from dsar.config import ROOT

    for mode_name, logged in (("development", True), ("testing", False)):
        monkeypatch.setenv("DSAR_ENV", mode_name)
        app = create_app()
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            receipt = intake.submit(
                intake.Submission(kind="access", regime="gdpr", **JANE), channel="portal"
            )
            shown = any(receipt.tracking_token in line for line in logs.lines)
            assert shown is logged, mode_name
            db.session.remove()
            db.engine.dispose()
        logs.lines.clear()


# -- files -------------------------------------------------------------------------------


def test_the_database_outbox_and_answers_are_readable_by_the_service_alone(
    env: dict[str, str], tmp_path: Path, demo_systems: list[str], app: Flask
) -> None:
    instance = Path(env["DSAR_INSTANCE_PATH"])
    key, _ = api_keys.create("tests", scopes=api_keys.SCOPES)
    receipt = intake.submit(
        intake.Submission(kind="access", regime="gdpr", **JANE),
        channel="api",
        api_key=key,
        identity_verified=True,
    )
    for task in list(receipt.request.tasks):
        workflow.run_task(task.id, last_attempt=True)
    answers.compile_response(receipt.request.id)
    documents = app.config["DSAR_DOCUMENTS_DIR"]
    outbox = app.config["DSAR_OUTBOX_DIR"]
    assert mode(instance) == 0o700
    assert mode(instance / "dsar.db") == 0o600
    assert mode(instance / "dsar.db-wal") == 0o600
    for folder in (documents, outbox):
        assert mode(folder) == 0o700
        files = list(folder.iterdir())
        assert files
        assert {mode(f) for f in files} == {0o600}, folder


def test_files_left_open_by_an_older_version_are_closed_at_start(
    env: dict[str, str], tmp_path: Path
) -> None:
    instance = Path(env["DSAR_INSTANCE_PATH"])
    outbox = instance / "outbox"
    outbox.mkdir()
    outbox.chmod(0o755)
    (outbox / "old.eml").write_text("To: jane.doe@example.com")
    (outbox / "old.eml").chmod(0o644)
    database = instance / "dsar.db"
    sqlite3.connect(database).close()
    database.chmod(0o644)
    instance.chmod(0o755)
    create_app()
    assert (mode(instance), mode(outbox), mode(outbox / "old.eml")) == (0o700, 0o700, 0o600)
    assert mode(database) == 0o600


# -- spreadsheets ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://evil","click")', '\'=HYPERLINK("http://evil","click")'),
        ("+1 555 0100", "'+1 555 0100"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Jane", "Jane"),
        (-5, -5),
        (None, None),
    ],
)
def test_formula_like_text_is_neutralised(value: object, cell: object) -> None:
    assert spreadsheets.cell(value) == cell


def test_the_answers_csv_neutralises_formulas_and_the_json_keeps_the_value(
    app: Flask, demo_systems: list[str], demo_dir: Path
) -> None:
    formula = '=HYPERLINK("http://evil.example","click")'
    with sqlite3.connect(demo_dir / "crm.db") as conn:
        conn.execute("UPDATE contacts SET company = ? WHERE email = ?", (formula, JANE["email"]))
    key, _ = api_keys.create("tests", scopes=api_keys.SCOPES)
    receipt = intake.submit(
        intake.Submission(kind="access", regime="gdpr", **JANE),
        channel="api",
        api_key=key,
        identity_verified=True,
    )
    for task in list(receipt.request.tasks):
        workflow.run_task(task.id, last_attempt=True)
    answers.compile_response(receipt.request.id)
    docs = {d.kind: d for d in db.session.scalars(select(Document))}
    folder = app.config["DSAR_DOCUMENTS_DIR"]
    rows = list(
        csv.DictReader(io.StringIO((folder / docs["data_csv"].filename).read_text("utf-8-sig")))
    )
    company = next(r for r in rows if r["system"] == "crm" and r["field"] == "company")
    assert company["value"] == "'" + formula
    assert all(not r["value"].startswith(spreadsheets.FORMULA_START) for r in rows)
    data = json.loads((folder / docs["data_json"].filename).read_text())
    crm = next(s for s in data["systems"] if s["key"] == "crm")
    assert [row["company"] for rows in crm["records"].values() for row in rows] == [formula]


def test_the_metrics_csv_goes_through_the_same_writer(
    client: FlaskClient, login: Callable[[str], str]
) -> None:
    login("auditor")
    resp = client.get("/audit/metrics.csv")
    assert resp.status_code == 200
    assert resp.headers["Cache-Control"] == "no-store"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    assert resp.get_data(as_text=True).startswith("year,scope,key,label")
