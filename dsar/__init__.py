"""dsar: a privacy rights request desk."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import sqlalchemy.exc
from flask import Flask, current_app, render_template, request
from flask_babel import gettext
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from sqlalchemy import event, make_url
from werkzeug.exceptions import BadRequest, HTTPException, ServiceUnavailable, default_exceptions
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from dsar import config as settings
from dsar import i18n, inputs, logs, queue, rules
from dsar.config import ROOT
from dsar.documents import words
from dsar.extensions import csrf, db, limiter, login_manager, migrate, rest_api, talisman
from dsar.i18n import N_
from dsar.portal import kept
from dsar.rules import citations

CSP = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "style-src": "'self'",
    "script-src": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
    "base-uri": "'none'",
    "object-src": "'none'",
}


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints, error pages, CLI."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(_instance_path()),
    )
    app.config.update(settings.from_env(instance=Path(app.instance_path)))
    app.config.update(config or {})
    app.url_map.converters["int"] = RowId
    _private_files(app)
    rules.configure(app.config)
    hops = app.config["DSAR_TRUSTED_PROXIES"]
    if hops:
        # The client's address, scheme and host as the trusted proxies saw them; what the
        # client itself put in these headers is further left and ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    _init_extensions(app)
    _register_blueprints(app)
    app.jinja_env.filters["wrap_long"] = words.wrap_long  # long tokens break at punctuation
    app.jinja_env.filters["page_counter"] = words.page_counter  # a letter's translated footer
    app.jinja_env.filters["reference"] = citations.reference  # a citation without its gloss
    app.jinja_env.filters["cited"] = citations.cited  # without it, unless the page is English
    app.jinja_env.globals["kind_labels"] = rules.KIND_LABELS  # rights in words, not keys
    _register_errors(app)
    from dsar.cli import register

    register(app)
    return app


class RowId(IntegerConverter):
    """`<int:...>` in our routes names a row: past a 64-bit id it is no row (404), never a
    number the database cannot compare."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", inputs.MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def _instance_path() -> Path:
    return Path(os.environ.get("DSAR_INSTANCE_PATH") or ROOT / "instance").resolve()


def _private_files(app: Flask) -> None:
    """Only the service's own user may read what dsar writes: requests, answers, emails.

    New files get mode 0600 and folders 0700 (the umask); the instance, outbox and documents
    folders and a SQLite database made before this existed are put right once, the first
    time a process starts with a folder still open to others.
    """
    os.umask(0o077)
    cfg = app.config
    folders = [Path(app.instance_path), Path(cfg["DSAR_DOCUMENTS_DIR"])]
    folders.append(Path(cfg["DSAR_UPLOADS_DIR"]))
    if not cfg["DSAR_SMTP_URL"]:
        folders.append(Path(cfg["DSAR_OUTBOX_DIR"]))
    for folder in folders:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if folder.stat().st_mode & 0o077:
            folder.chmod(0o700)
            for path in folder.iterdir():
                if path.is_file() and not path.is_symlink():
                    path.chmod(0o600)
    url = make_url(cfg["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database)
        database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Made here, empty (a valid SQLite file), so that it is never readable by others.
        os.close(os.open(database, os.O_CREAT | os.O_WRONLY, 0o600))
        for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
            if path.exists() and path.stat().st_mode & 0o077:
                path.chmod(0o600)


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL and a busy timeout let the web server and several workers share one SQLite file."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


# Pages whose forms carry files, and how many: a larger body than the 1 MB every other
# page takes (the request form: an agent's signed permission).
UPLOAD_ENDPOINTS = frozenset({"owner.task"})
ONE_FILE_ENDPOINTS = frozenset({"portal.new_request"})


def _upload_limit() -> None:
    """Set before the CSRF check reads the form: the body is parsed under this limit."""
    if request.endpoint in UPLOAD_ENDPOINTS | ONE_FILE_ENDPOINTS:
        from dsar.services.uploads import MAX_FILES

        files = MAX_FILES if request.endpoint in UPLOAD_ENDPOINTS else 1
        megabytes = current_app.config["DSAR_UPLOAD_MAX_MB"] * files + 1
        request.max_content_length = megabytes * 1024 * 1024


def _init_extensions(app: Flask) -> None:
    # Never print a statement's parameters (names, emails) in an error or a log line.
    options = {
        "hide_parameters": True,
        # A connection the server dropped (a restart, a failover) is replaced before use.
        "pool_pre_ping": True,
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
    }
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": 30})
    else:  # each process holds at most pool size + overflow connections to the server
        options.setdefault("pool_size", app.config["DSAR_DB_POOL_SIZE"])
        options.setdefault("max_overflow", app.config["DSAR_DB_MAX_OVERFLOW"])
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    with app.app_context():
        # dsar's own database only: the data systems' SQLite files are the owners' business.
        event.listen(db.engine, "connect", _sqlite_pragmas)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    app.before_request(_upload_limit)  # before CSRFProtect's, which reads the form
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    login_manager.login_view = "staff.login"
    login_manager.session_protection = "strong"
    limiter.init_app(app)
    talisman.init_app(
        app,
        force_https=False,
        content_security_policy=CSP,
        frame_options="DENY",
        # Our own pages get the page a form came from (the CSRF check over HTTPS needs it);
        # no other site ever sees an address of ours, which may hold a link token.
        referrer_policy="same-origin",
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        strict_transport_security=app.config["DSAR_ENV"] == "production",
    )
    app.config.update(
        API_TITLE="dsar",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
    )
    rest_api.init_app(app)
    queue.init_app(app)
    from dsar.services import audit

    audit.init_app(app)  # hash-chain every event at commit
    from dsar.services import webhook_events

    webhook_events.init_app(app)  # enqueue webhook deliveries once their event commits
    logs.configure(app.config["DSAR_LOG_FORMAT"])


def _register_blueprints(app: Flask) -> None:
    from dsar.api.views import blp as api_blp
    from dsar.auditor.views import bp as auditor_bp
    from dsar.ops.views import bp as ops_bp
    from dsar.portal.views import bp as portal_bp
    from dsar.staff.views import bp as staff_bp

    app.register_blueprint(portal_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(auditor_bp)
    from dsar.owner.views import bp as owner_bp

    app.register_blueprint(owner_bp)  # the manual systems' owners: /task/<token>
    app.register_blueprint(ops_bp)  # /healthz and /metrics, for machines
    rest_api.register_blueprint(api_blp)
    csrf.exempt(api_blp)


def _refuse_broken_urls() -> None:
    """A NUL byte or broken character in the path or query string is no address of ours:
    refuse it before any view passes it to the database (PostgreSQL rejects NUL)."""
    for value in (request.path, *request.args.keys(), *request.args.values()):
        if inputs.problem(value) is not None:
            raise BadRequest(gettext("This address holds characters that no page of ours uses."))


def _database_unavailable(exc: Exception) -> Any:
    """The database cannot be reached: nothing was stored; say so, and when to retry."""
    with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError):
        db.session.rollback()  # the connection may be gone; the pool replaces it
    cause = type(getattr(exc, "orig", exc)).__name__  # never the statement or its values
    current_app.logger.error("database unavailable on %s: %s", request.url_rule, cause)
    message = N_(
        "We cannot reach our database for a moment, so nothing was saved. "
        "Please try again in a minute."
    )
    headers = {"Retry-After": "30"}
    if request.path.startswith("/api/"):
        return {"code": 503, "status": "Service Unavailable", "message": message}, 503, headers
    message = gettext(message)
    try:  # the page names the signed-in user, which needs the database too
        error = ServiceUnavailable(message)
        page = render_template("errors/error.html", error=error, description=message)
    except Exception:
        page = f"<!doctype html><title>Service unavailable</title><p>{message}</p>"
    return page, 503, headers


def _own_description(exc: HTTPException) -> str | None:
    """The description our own code gave the error (in the page's language: the portal's
    views and the handlers here translate theirs), or None for Werkzeug's or a library's
    English default, which the error page replaces with its own words for the status."""
    if isinstance(exc, RateLimitExceeded) and not exc.limit.error_message:
        return None  # the limit itself ("20 per 1 hour")
    standard = default_exceptions.get(exc.code or 0)
    default = standard.description if standard else None
    if not exc.description or exc.description == default or exc.code == 413:
        return None
    return str(exc.description)


def error_page(exc: HTTPException) -> str:
    """The error page: the status's title and advice in the page's language (the person's on
    their pages, English on the company's screens; dsar.i18n.select_locale)."""
    return render_template("errors/error.html", error=exc, description=_own_description(exc))


def _csrf_refused(exc: CSRFError) -> Any:
    """An expired (or forged) form: the portal's forms come back filled in as sent, with
    why; any other page says it on the error page. Nothing is stored either way."""
    reason = exc.description  # flask-wtf's, in English: for English pages only
    said = gettext(
        "This form has expired or did not come from our site, so nothing was saved. "
        "Go back, reload the page and send it again."
    )
    refilled = kept.refill(
        gettext(
            "This form has expired or did not come from our site, so nothing was saved. "
            "What you typed is below: check it and send it again."
        )
        + (f" ({reason})" if i18n.english() else "")
    )
    if refilled is not None:
        return refilled, 400
    exc.description = said + (f" ({reason})" if i18n.english() else "")
    return error_page(exc), 400


def _rate_limited_form(exc: HTTPException) -> str | None:
    """A portal form refused by the rate limit, filled in as sent, or None."""
    if not isinstance(exc, RateLimitExceeded):
        return None
    return kept.refill(
        gettext(
            "This form was sent many times in a short while, so we have paused it to protect "
            "your request. What you typed is below: please wait a while, up to an hour, and "
            "send it again."
        )
    )


def _register_errors(app: Flask) -> None:
    app.before_request(_refuse_broken_urls)

    @app.errorhandler(inputs.InputRefused)
    def input_refused(exc: inputs.InputRefused) -> Any:
        api = request.path.startswith("/api/")
        description = exc.message if api else exc.translated()
        return http_error(default_exceptions[exc.status](description=description))

    app.register_error_handler(CSRFError, _csrf_refused)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        # The headers the status calls for go with it: Allow on a 405 (RFC 9110 15.5.6),
        # WWW-Authenticate on a 401, Retry-After where the exception names one.
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        if request.path.startswith("/api/"):
            data = getattr(exc, "data", None) or {}
            headers += list((data.get("headers") or {}).items())
            message = data.get("message") or exc.description
            body = {"code": exc.code, "status": exc.name, "message": message}
            if "messages" in data:
                body["message"] = "The request body has errors; see 'errors'."
                body["errors"] = data["messages"]
            return body, exc.code, headers
        refilled = _rate_limited_form(exc)
        if refilled is not None:  # a portal form comes back as it was typed
            return refilled, exc.code, headers
        # A 413 always gets the page's own words (send smaller or fewer files).
        return error_page(exc), exc.code, headers

    app.register_error_handler(sqlalchemy.exc.OperationalError, _database_unavailable)
    app.register_error_handler(sqlalchemy.exc.InterfaceError, _database_unavailable)

    @app.errorhandler(Exception)
    def server_error(exc: Exception) -> Any:
        app.logger.exception("unhandled error on %s %s", request.method, request.url_rule)
        if request.path.startswith("/api/"):
            return {
                "code": 500,
                "status": "Internal Server Error",
                "message": "Something went wrong on our side.",
            }, 500
        return render_template("errors/error.html", error=None), 500
