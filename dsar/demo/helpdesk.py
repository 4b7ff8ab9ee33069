"""Serve the demo help desk: a small JSON API over helpdesk.db, behind a bearer token.

    DSAR_HELPDESK_TOKEN=... python -m dsar.demo.helpdesk --db PATH --port 5055

Every route but /health needs `Authorization: Bearer <token>`. The person's email always
travels in the POST body, never in the URL, and request bodies are never logged.
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

log = logging.getLogger(__name__)


class Refused(Exception):
    """A request the service will not act on; becomes a JSON error answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> tuple[Response, int]:
    return jsonify({"error": message}), status


def _email() -> str:
    """The lower-cased, stripped email from a JSON object body, or Refused(400)."""
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object with an 'email' string")
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
    email = _email()
    with _connect() as conn:
        row = conn.execute(
            "SELECT id, email, name, marketing_ok FROM customers WHERE email = ?", (email,)
        ).fetchone()
        tickets: list[dict[str, Any]] = []
        if row is not None:
            tickets = [
                dict(t)
                for t in conn.execute(
                    "SELECT id, opened_at, subject, body, status FROM tickets"
                    " WHERE customer_id = ? ORDER BY opened_at, id",
                    (row["id"],),
                )
            ]
    return jsonify({"customer": dict(row) if row is not None else None, "tickets": tickets})


def erase() -> ResponseReturnValue:
    email = _email()
    with _connect() as conn:
        tickets = conn.execute(
            "DELETE FROM tickets WHERE customer_id IN (SELECT id FROM customers WHERE email = ?)",
            (email,),
        ).rowcount
        customers = conn.execute("DELETE FROM customers WHERE email = ?", (email,)).rowcount
    return jsonify({"erased": tickets + customers})


def opt_out() -> ResponseReturnValue:
    email = _email()
    with _connect() as conn:
        updated = conn.execute(
            "UPDATE customers SET marketing_ok = 0 WHERE email = ?", (email,)
        ).rowcount
    return jsonify({"updated": updated})


def create_helpdesk_app(db_path: str, token: str) -> Flask:
    """Build the help desk app over the SQLite file at `db_path`, guarded by `token`."""
    if not token:
        raise ValueError("the help desk needs a non-empty token")
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY,
        HELPDESK_TOKEN=token.encode(),
        # mode=rw: a missing file is an error, not a new empty database.
        HELPDESK_DB_URI=Path(db_path).resolve().as_uri() + "?mode=rw",
    )
    app.before_request(_authenticate)
    app.after_request(_no_store)
    app.register_error_handler(Refused, _refused)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(sqlite3.Error, _store_error)
    app.add_url_rule("/health", view_func=health, methods=["GET"])
    app.add_url_rule("/api/v1/search", view_func=search, methods=["POST"])
    app.add_url_rule("/api/v1/erase", view_func=erase, methods=["POST"])
    app.add_url_rule("/api/v1/opt-out", view_func=opt_out, methods=["POST"])
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
    args = parser.parse_args(argv)

    token = os.environ.get(TOKEN_ENV, "")
    if not token:
        sys.exit(f"error: set {TOKEN_ENV} to the bearer token that clients must send")
    if not Path(args.db).is_file():
        sys.exit(f"error: {args.db} does not exist; build the demo world first")

    server = make_server(args.host, args.port, create_helpdesk_app(args.db, token), threaded=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return, so it must run in another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"help desk listening on http://{args.host}:{server.server_port}", flush=True)
    server.serve_forever()  # closes the socket when it returns
    print("help desk stopped", flush=True)


if __name__ == "__main__":
    main()
