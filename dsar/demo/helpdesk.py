"""Serve the demo help desk: a small JSON API over helpdesk.db, behind a bearer token.

    DSAR_HELPDESK_TOKEN=... python -m dsar.demo.helpdesk --db PATH --port 5055

Every route but /health needs `Authorization: Bearer <token>`. The person's email always
travels in the POST body, never in the URL, and request bodies are never logged.

Like many real vendors' APIs, the search is paginated (`page`, `per_page` in the body;
`next_page` in the answer) and deletion is asynchronous: POST /api/v1/erasures answers
202 with a `status_url`, and GET on it says `pending` until the deletion is `done` (after
`--erase-delay` seconds). POST /api/v1/erase deletes at once, for simple clients.

The customer found by the body's email can be changed too: POST /api/v1/opt-out,
/api/v1/restrictions and /api/v1/objections set a flag on them, DELETE on the last two (with
the same body) clears it again, POST /api/v1/opt-in accepts marketing again (the opposite of
/api/v1/opt-out), and POST /api/v1/corrections writes `changes` ({"name": ...,
"email": ..., "phone": ...}, any of them) onto them; each answers {"updated": n}. Other body
fields (such as the preference centre's "choice") are ignored.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import signal
import sqlite3
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.serving import make_server

TOKEN_ENV = "DSAR_HELPDESK_TOKEN"  # noqa: S105 - the name of a variable, not a secret
MAX_BODY = 64 * 1024
PER_PAGE = 50
MAX_PER_PAGE = 100

log = logging.getLogger(__name__)


class Refused(Exception):
    """A request the service will not act on; becomes a JSON error answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def _body() -> dict[str, Any]:
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object with an 'email' string")
    return body


def _whole(body: dict[str, Any], name: str, default: int, high: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise Refused(400, f"'{name}' must be a whole number from 1 to {high}")
    return value


def _email() -> str:
    """The lower-cased, stripped email from a JSON object body, or Refused(400)."""
    body = _body()
    email = body.get("email")
    if not isinstance(email, str):
        raise Refused(400, "'email' must be a string")
    email = email.strip().lower()
    if not email:
        raise Refused(400, "'email' must not be empty")
    return email


@contextmanager
def _connect() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(current_app.config["HELPDESK_DB_URI"], uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        with conn:  # one transaction: commit on success, roll back on error
            yield conn
    finally:
        conn.close()


def _authenticate() -> ResponseReturnValue | None:
    if request.endpoint == "health":
        return None
    expected: bytes = current_app.config["HELPDESK_TOKEN"]
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        response, status = _error(401, "a valid bearer token is required")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response, status
    return None


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _refused(exc: Refused) -> ResponseReturnValue:
    return _error(exc.status, exc.message)


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    return _error(exc.code or 500, exc.name.lower())


def _store_error(exc: sqlite3.Error) -> ResponseReturnValue:
    log.error("help desk store error: %s", type(exc).__name__)
    return _error(503, "the help desk store is unavailable")


def health() -> ResponseReturnValue:
    return jsonify({"ok": True})


def search() -> ResponseReturnValue:
    """The customer and one page of their tickets, oldest first; `next_page` or null."""
    email = _email()
    body = _body()
    page = _whole(body, "page", 1, 1_000_000)
    per_page = _whole(body, "per_page", PER_PAGE, MAX_PER_PAGE)
    with _connect() as conn:
        row = conn.execute(
            "SELECT id, email, name, phone, marketing_ok, restricted, objected FROM customers"
            " WHERE email = ?",
            (email,),
        ).fetchone()
        tickets: list[dict[str, Any]] = []
        if row is not None:
            tickets = [
                dict(t)
                for t in conn.execute(
                    "SELECT id, opened_at, subject, body, status FROM tickets"
                    " WHERE customer_id = ? ORDER BY opened_at, id LIMIT ? OFFSET ?",
                    (row["id"], per_page + 1, (page - 1) * per_page),
                )
            ]
    more = len(tickets) > per_page
    return jsonify(
        {
            "customer": dict(row) if row is not None else None,
            "tickets": tickets[:per_page],
            "page": page,
            "next_page": page + 1 if more else None,
        }
    )


def _delete(conn: sqlite3.Connection, email: str) -> int:
    tickets = conn.execute(
        "DELETE FROM tickets WHERE customer_id IN (SELECT id FROM customers WHERE email = ?)",
        (email,),
    ).rowcount
    return tickets + conn.execute("DELETE FROM customers WHERE email = ?", (email,)).rowcount


def erase() -> ResponseReturnValue:
    email = _email()
    with _connect() as conn:
        erased = _delete(conn, email)
    return jsonify({"erased": erased})


class Erasures:
    """Deletion jobs of this process: id -> state and count (never the email)."""

    def __init__(self, db_uri: str, delay: float) -> None:
        self.db_uri = db_uri
        self.delay = delay
        self.jobs: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def start(self, email: str) -> str:
        job_id = uuid.uuid4().hex
        with self.lock:
            self.jobs[job_id] = {"id": job_id, "state": "pending", "erased": None}
        timer = threading.Timer(self.delay, self._run, args=(job_id, email))
        timer.daemon = True
        timer.start()
        return job_id

    def _run(self, job_id: str, email: str) -> None:
        state, erased = "done", 0
        try:
            conn = sqlite3.connect(self.db_uri, uri=True, timeout=10)
            try:
                with conn:
                    erased = _delete(conn, email)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            log.error("help desk erasure %s failed: %s", job_id, type(exc).__name__)
            state = "failed"
        with self.lock:
            self.jobs[job_id].update(state=state, erased=erased)

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self.lock:
            job = self.jobs.get(job_id)
            return dict(job) if job else None


def start_erasure() -> ResponseReturnValue:
    """Accept a deletion: 202 with where to follow it."""
    email = _email()
    job_id = current_app.extensions["helpdesk_erasures"].start(email)
    status_url = f"/api/v1/erasures/{job_id}"
    answer = jsonify({"id": job_id, "state": "pending", "status_url": status_url})
    answer.headers["Location"] = status_url
    return answer, 202


def erasure_status(job_id: str) -> ResponseReturnValue:
    job = current_app.extensions["helpdesk_erasures"].get(job_id)
    if job is None:
        raise Refused(404, "no such erasure")
    return jsonify(job)


def _marketing(allowed: int) -> ResponseReturnValue:
    """Set whether the customer accepts marketing; answer how many the email found."""
    email = _email()
    with _connect() as conn:
        updated = conn.execute(
            "UPDATE customers SET marketing_ok = ? WHERE email = ?", (allowed, email)
        ).rowcount
    return jsonify({"updated": updated})


def opt_out() -> ResponseReturnValue:
    return _marketing(0)


def opt_in() -> ResponseReturnValue:
    return _marketing(1)


def _set_flag(column: str) -> ResponseReturnValue:
    """POST sets the customer's flag; DELETE clears it (a restriction lifted, an objection
    withdrawn). Both answer how many customers the email found."""
    value = 0 if request.method == "DELETE" else 1
    email = _email()
    with _connect() as conn:
        updated = conn.execute(
            f"UPDATE customers SET {column} = ? WHERE email = ?",  # noqa: S608 (fixed names)
            (value, email),
        ).rowcount
    return jsonify({"updated": updated})


def restrict() -> ResponseReturnValue:
    return _set_flag("restricted")


def object_to() -> ResponseReturnValue:
    return _set_flag("objected")


CORRECTABLE = ("name", "email", "phone")


def correct() -> ResponseReturnValue:
    """Change the customer's name, email or phone: {"email": ..., "changes": {...}}."""
    email = _email()
    changes = _body().get("changes")
    if not isinstance(changes, dict) or not changes:
        raise Refused(400, "changes must be an object of name, email or phone")
    for key, value in changes.items():
        if key not in CORRECTABLE or not isinstance(value, str) or not value or len(value) > 254:
            raise Refused(400, f"cannot change {key!r}")
    sets = ", ".join(f"{key} = ?" for key in changes)
    with _connect() as conn:
        try:
            updated = conn.execute(
                f"UPDATE customers SET {sets} WHERE email = ?",  # noqa: S608 (checked names)
                (*changes.values(), email),
            ).rowcount
        except sqlite3.IntegrityError:
            raise Refused(409, "another customer has that email address") from None
    return jsonify({"updated": updated})


def create_helpdesk_app(db_path: str, token: str, *, erase_delay: float = 0.5) -> Flask:
    """Build the help desk app over the SQLite file at `db_path`, guarded by `token`.

    Asynchronous erasures finish `erase_delay` seconds after they are accepted.
    """
    if not token:
        raise ValueError("the help desk needs a non-empty token")
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY,
        HELPDESK_TOKEN=token.encode(),
        # mode=rw: a missing file is an error, not a new empty database.
        HELPDESK_DB_URI=Path(db_path).resolve().as_uri() + "?mode=rw",
    )
    app.extensions["helpdesk_erasures"] = Erasures(app.config["HELPDESK_DB_URI"], erase_delay)
    app.before_request(_authenticate)
    app.after_request(_no_store)
    app.register_error_handler(Refused, _refused)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(sqlite3.Error, _store_error)
    app.add_url_rule("/health", view_func=health, methods=["GET"])
    app.add_url_rule("/api/v1/search", view_func=search, methods=["POST"])
    app.add_url_rule("/api/v1/erase", view_func=erase, methods=["POST"])
    app.add_url_rule("/api/v1/opt-out", view_func=opt_out, methods=["POST"])
    app.add_url_rule("/api/v1/opt-in", view_func=opt_in, methods=["POST"])
    app.add_url_rule("/api/v1/restrictions", view_func=restrict, methods=["POST", "DELETE"])
    app.add_url_rule("/api/v1/objections", view_func=object_to, methods=["POST", "DELETE"])
    app.add_url_rule("/api/v1/corrections", view_func=correct, methods=["POST"])
    app.add_url_rule("/api/v1/erasures", view_func=start_erasure, methods=["POST"])
    app.add_url_rule("/api/v1/erasures/<job_id>", view_func=erasure_status, methods=["GET"])
    return app


def main(argv: list[str] | None = None) -> None:
    """Serve the help desk until SIGTERM or Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m dsar.demo.helpdesk",
        description="Serve the demo help desk JSON API.",
        epilog=f"The bearer token is read from the environment variable {TOKEN_ENV}.",
    )
    parser.add_argument("--db", required=True, help="path to helpdesk.db of the demo world")
    parser.add_argument("--port", type=int, required=True, help="TCP port (0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--erase-delay",
        type=float,
        default=0.5,
        help="seconds an asynchronous erasure takes (default 0.5)",
    )
    args = parser.parse_args(argv)

    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        sys.exit(f"error: set {TOKEN_ENV} to the bearer token that clients must send")
    if not Path(args.db).is_file():
        sys.exit(f"error: {args.db} does not exist; build the demo world first")

    app = create_helpdesk_app(args.db, token, erase_delay=args.erase_delay)
    server = make_server(args.host, args.port, app, threaded=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return, so it must run in another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"help desk listening on http://{args.host}:{server.server_port}", flush=True)
    server.serve_forever()  # closes the socket when it returns
    print("help desk stopped", flush=True)


if __name__ == "__main__":
    main()
