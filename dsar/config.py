"""Read every setting from the environment, in one place.

`SECRET_KEY`, `DATABASE_URL` and `REDIS_URL` keep their customary names; everything else
dsar reads starts with `DSAR_`. Nothing else in the code reads the environment for settings.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse_many

ROOT = Path(__file__).resolve().parent.parent
AUDIT_KEY_MIN = 32  # characters: a short audit key could be guessed from the hashes
METRICS_TOKEN_MIN = 24  # characters: the scrape token is a bearer secret, tried online
LOG_FORMATS = ("text", "json")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the process must not start."""


def _int(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _cron(env: Mapping[str, str], name: str, default: str) -> str:
    """A cron expression (minute hour day month weekday), checked as RQ's scheduler reads it."""
    from croniter import croniter

    value = env.get(name, default).strip()
    if not croniter.is_valid(value):
        raise ConfigError(f"{name} must be a cron expression like '0 7 * * *', got {value!r}")
    return value


def _intervals(env: Mapping[str, str], name: str, default: str) -> list[int]:
    raw = env.get(name) or default
    try:
        values = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise ConfigError(f"{name} must be comma-separated seconds, got {raw!r}") from exc
    if not values or min(values) < 0:
        raise ConfigError(f"{name} must list at least one non-negative number of seconds")
    return values


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    raw = (env.get(name) or default).strip()
    try:
        parse_many(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a rate like '600 per minute', got {raw!r}") from exc
    return raw


def _names(env: Mapping[str, str], name: str, default: str) -> frozenset[str]:
    raw = env.get(name, default)
    values = frozenset(part.strip() for part in raw.split(",") if part.strip())
    bad = [v for v in values if not re.fullmatch(r"[a-z_]+(:[a-z_]+)?", v)]
    if bad:
        raise ConfigError(f"{name} must list kinds or law:kind pairs, got {bad[0]!r}")
    return values


# dsar.models.Role's values (this module stands below the models and cannot import them).
STAFF_ROLES = ("admin", "officer", "auditor")


def _roles(env: Mapping[str, str], name: str, default: str) -> frozenset[str]:
    """Staff roles, comma-separated; empty for none."""
    raw = env.get(name, default)
    values = frozenset(part.strip().lower() for part in raw.split(",") if part.strip())
    unknown = sorted(values - set(STAFF_ROLES))
    if unknown:
        raise ConfigError(
            f"{name} must list staff roles among {', '.join(STAFF_ROLES)} (comma-separated, "
            f"or empty for none), got {unknown[0]!r}"
        )
    return values


def database_url(raw: str) -> str:
    """Point bare PostgreSQL URLs at psycopg 3, the driver dsar ships with."""
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def limiter_storage(redis_url: str) -> str:
    """Translate a redis-py URL into the `limits` storage URI for the same server."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url


def _secret_key(env: Mapping[str, str], instance: Path, production: bool) -> str:
    key = env.get("SECRET_KEY", "")
    if key:
        return key
    if production:
        raise ConfigError("SECRET_KEY must be set when DSAR_ENV=production")
    # Development: one random key per instance folder, shared by the web server and workers.
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def _audit_key(env: Mapping[str, str]) -> str:
    key = env.get("DSAR_AUDIT_KEY", "")
    if key and len(key) < AUDIT_KEY_MIN:
        raise ConfigError(
            f"DSAR_AUDIT_KEY must be at least {AUDIT_KEY_MIN} characters (got {len(key)}); "
            'make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    return key


def log_format(env: Mapping[str, str]) -> str:
    """`DSAR_LOG_FORMAT`; also read by gunicorn's logger class, which starts before any app."""
    value = (env.get("DSAR_LOG_FORMAT") or "text").strip().lower()
    if value not in LOG_FORMATS:
        raise ConfigError(f"DSAR_LOG_FORMAT must be text or json, got {value!r}")
    return value


def _metrics_token(env: Mapping[str, str]) -> str:
    token = env.get("DSAR_METRICS_TOKEN", "")
    if token and len(token) < METRICS_TOKEN_MIN:
        raise ConfigError(
            f"DSAR_METRICS_TOKEN must be at least {METRICS_TOKEN_MIN} characters (got "
            f'{len(token)}); make one with: python -c "import secrets; '
            'print(secrets.token_urlsafe(32))"'
        )
    return token


def _spreadsheet_dir(env: Mapping[str, str], instance: Path, demo_dir: Path) -> Path:
    """The one folder CSV systems' files must be in (dsar.services.system_reach): by default
    the demo's folder, whose systems.toml names ${DSAR_DEMO_DIR}/events.csv."""
    raw = env.get("DSAR_SPREADSHEET_DIR", "")
    if raw and not Path(raw).is_absolute():
        # Web and worker processes may start in different folders: say one place for all.
        raise ConfigError(f"DSAR_SPREADSHEET_DIR must be an absolute path, got {raw!r}")
    folder = Path(os.path.abspath(raw or demo_dir))
    home = Path(os.path.realpath(instance))
    if Path(os.path.realpath(folder)) in (home, *home.parents):
        raise ConfigError(
            f"DSAR_SPREADSHEET_DIR {str(folder)!r} holds dsar's own folder {home} (its "
            "database and secret key); give a folder that holds spreadsheets only"
        )
    return folder


def _transfer_hatches(env: Mapping[str, str], production: bool) -> dict[str, Any]:
    """Portability transfers (dsar.services.transfer): caps, and two test-only hatches that
    production refuses: hosts exempt from the public-address check, and a CA file to trust."""
    allow = frozenset(
        part.strip().lower().rstrip(".")
        for part in env.get("DSAR_TRANSFER_ALLOW_HOSTS", "").split(",")
        if part.strip()
    )
    ca_bundle = env.get("DSAR_TRANSFER_CA_BUNDLE", "")
    if production and (allow or ca_bundle):
        raise ConfigError(
            "DSAR_TRANSFER_ALLOW_HOSTS and DSAR_TRANSFER_CA_BUNDLE are for tests only; "
            "unset them when DSAR_ENV=production"
        )
    if ca_bundle and not Path(ca_bundle).is_file():
        raise ConfigError(f"DSAR_TRANSFER_CA_BUNDLE {ca_bundle!r} is not a file")
    return {
        "DSAR_TRANSFER_MAX_BYTES": _int(
            env, "DSAR_TRANSFER_MAX_BYTES", 50 * 1024 * 1024, minimum=1
        ),
        "DSAR_TRANSFER_TIMEOUT_SECONDS": _int(env, "DSAR_TRANSFER_TIMEOUT_SECONDS", 30, minimum=1),
        "DSAR_TRANSFER_ALLOW_HOSTS": allow,
        "DSAR_TRANSFER_CA_BUNDLE": ca_bundle,
    }


def from_env(env: Mapping[str, str] | None = None, *, instance: Path) -> dict[str, Any]:
    """Build the Flask config mapping from environment variables."""
    env = os.environ if env is None else env
    mode = env.get("DSAR_ENV", "development")
    if mode not in {"development", "production", "testing"}:
        raise ConfigError(f"DSAR_ENV must be development, production or testing, got {mode!r}")
    production = mode == "production"
    tz_name = env.get("DSAR_TIMEZONE", "UTC")
    try:
        ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"DSAR_TIMEZONE {tz_name!r} is not a known time zone") from exc
    redis_url = env.get("REDIS_URL") or f"unix://{instance}/redis.sock"
    port = _int(env, "DSAR_PORT", 5000, minimum=1)
    return {
        "DSAR_ENV": mode,
        "SECRET_KEY": _secret_key(env, instance, production),
        "SQLALCHEMY_DATABASE_URI": database_url(
            env.get("DATABASE_URL") or f"sqlite:///{instance}/dsar.db"
        ),
        # Connections each process keeps to PostgreSQL, and how many more it may open at a
        # peak: (web workers + rq workers + cron) x (size + overflow) < max_connections.
        "DSAR_DB_POOL_SIZE": _int(env, "DSAR_DB_POOL_SIZE", 5, minimum=1),
        "DSAR_DB_MAX_OVERFLOW": _int(env, "DSAR_DB_MAX_OVERFLOW", 5),
        "REDIS_URL": redis_url,
        "DSAR_EMBEDDED_REDIS": not env.get("REDIS_URL"),
        "RATELIMIT_STORAGE_URI": env.get("DSAR_RATELIMIT_STORAGE") or limiter_storage(redis_url),
        "RATELIMIT_ENABLED": env.get("DSAR_RATELIMIT", "on") != "off",
        # Proxies in front of dsar whose X-Forwarded-For/-Proto/-Host to believe, counted
        # from dsar outwards (0: none; 1: one TLS proxy). Only then are rate limits, lockouts
        # and secure cookies about the real client; a header from anyone else is ignored.
        "DSAR_TRUSTED_PROXIES": _int(env, "DSAR_TRUSTED_PROXIES", 0),
        # The demo staff accounts (published passwords) stop signing in once a real admin
        # exists; "1" lets them go on (a shared demo server).
        "DSAR_ALLOW_DEMO_LOGINS": env.get("DSAR_ALLOW_DEMO_LOGINS", "") in {"1", "on", "true"},
        "RATELIMIT_HEADERS_ENABLED": True,  # Retry-After with every 429
        # Calls per API key (a flask-limiter rate such as "600 per minute").
        "DSAR_API_RATE_LIMIT": _rate(env, "DSAR_API_RATE_LIMIT", "600 per minute"),
        # Staff of these roles sign in with a code from an app too (two-factor); the demo
        # accounts are exempt. A staff session ends after this many idle minutes.
        "DSAR_TOTP_REQUIRED": _roles(env, "DSAR_TOTP_REQUIRED", "admin,auditor"),
        "DSAR_IDLE_MINUTES": _int(env, "DSAR_IDLE_MINUTES", 30, minimum=1),
        "DSAR_PORT": port,
        "DSAR_BASE_URL": (env.get("DSAR_BASE_URL") or f"http://127.0.0.1:{port}").rstrip("/"),
        "DSAR_TIMEZONE": tz_name,
        "DSAR_COMPANY_NAME": env.get("DSAR_COMPANY_NAME", "Example Retail Ltd"),
        # Who speaks in every letter (GDPR Art. 13(1)(a)-(b), 27, 37): the postal address
        # (lines separated by ";"), the privacy contact, the DPO, the EU and UK
        # representatives where the company needs them, and who signs ("Name, title").
        "DSAR_COMPANY_ADDRESS": env.get(
            "DSAR_COMPANY_ADDRESS", "1 Example Street; London EC1A 1AA; United Kingdom"
        ),
        "DSAR_PRIVACY_CONTACT": env.get("DSAR_PRIVACY_CONTACT", "privacy@example.com"),
        "DSAR_DPO": env.get(
            "DSAR_DPO", "Dana Protection, Data Protection Officer, dpo@example.com"
        ),
        "DSAR_EU_REPRESENTATIVE": env.get(
            "DSAR_EU_REPRESENTATIVE",
            "Example Retail GmbH, Beispielstraße 1, 10115 Berlin, Germany, eu-rep@example.com",
        ),
        "DSAR_UK_REPRESENTATIVE": env.get("DSAR_UK_REPRESENTATIVE", ""),
        "DSAR_SIGNATORY": env.get("DSAR_SIGNATORY", "Sam Example, Head of Privacy"),
        "DSAR_MAIL_FROM": env.get("DSAR_MAIL_FROM", "privacy@example.com"),
        "DSAR_SMTP_URL": env.get("DSAR_SMTP_URL", ""),
        "DSAR_OUTBOX_DIR": Path(env.get("DSAR_OUTBOX_DIR") or instance / "outbox"),
        "DSAR_DOCUMENTS_DIR": Path(env.get("DSAR_DOCUMENTS_DIR") or instance / "documents"),
        # Files system owners send with their reports (scans, photos, spreadsheets).
        "DSAR_UPLOADS_DIR": Path(env.get("DSAR_UPLOADS_DIR") or instance / "uploads"),
        "DSAR_UPLOAD_MAX_MB": _int(env, "DSAR_UPLOAD_MAX_MB", 10, minimum=1),
        "DSAR_DEMO_DIR": Path(env.get("DSAR_DEMO_DIR") or instance / "demo"),
        # CSV systems' files are refused outside this folder (symlinks and .. resolved).
        "DSAR_SPREADSHEET_DIR": _spreadsheet_dir(
            env, instance, Path(env.get("DSAR_DEMO_DIR") or instance / "demo")
        ),
        "DSAR_HELPDESK_URL": env.get("DSAR_HELPDESK_URL", "http://127.0.0.1:5055"),
        # One request fans out to every system at once: a worker per system of a typical
        # registry, so a request over 8 slow systems takes as long as the slowest.
        "DSAR_WORKERS": _int(env, "DSAR_WORKERS", 8, minimum=1),
        "DSAR_TASK_RETRIES": _int(env, "DSAR_TASK_RETRIES", 3),
        "DSAR_RETRY_INTERVALS": _intervals(env, "DSAR_RETRY_INTERVALS", "5,30,120"),
        "DSAR_TASK_TIMEOUT": _int(env, "DSAR_TASK_TIMEOUT", 600, minimum=1),
        "DSAR_CONNECTOR_TIMEOUT": _int(env, "DSAR_CONNECTOR_TIMEOUT", 20, minimum=1),
        "DSAR_VERIFY_HOURS": _int(env, "DSAR_VERIFY_HOURS", 72, minimum=1),
        # A request from the same email for the same kind within this many days is flagged.
        "DSAR_DUPLICATE_DAYS": _int(env, "DSAR_DUPLICATE_DAYS", 30),
        # Reminders to officers: days before the due date, and how often the check runs.
        "DSAR_REMINDER_DAYS": _intervals(env, "DSAR_REMINDER_DAYS", "7,3,1"),
        "DSAR_REMINDER_INTERVAL": _int(env, "DSAR_REMINDER_INTERVAL", 3600, minimum=10),
        # Values shared/LEGAL.md marks unverified: configurable, with the defaults it gives.
        # The fan-out engine: a task whose job is gone this long after it was queued or
        # started (past its timeout) is enqueued again by the reconciler.
        "DSAR_RECONCILE_INTERVAL": _int(env, "DSAR_RECONCILE_INTERVAL", 60, minimum=5),
        "DSAR_LOST_AFTER": _int(env, "DSAR_LOST_AFTER", 60, minimum=1),
        # Phone numbers without a country code are read as numbers of this region.
        "DSAR_PHONE_REGION": env.get("DSAR_PHONE_REGION", "US"),
        # Key of the keyed hash that pseudonymises erased values (defaults to one derived
        # from SECRET_KEY; set it to keep pseudonyms stable across key rotations).
        "DSAR_PSEUDONYM_KEY": env.get("DSAR_PSEUDONYM_KEY", ""),
        # Key of the audit chain's HMACs, kept out of the database so that someone who can
        # only write the database cannot recompute a hash. When unset, dsar.services.audit
        # derives it from SECRET_KEY; set it to keep the chain verifiable across SECRET_KEY
        # rotations (a chain only verifies with the key it was written with).
        "DSAR_AUDIT_KEY": _audit_key(env),
        # Observability: GET /metrics answers a Prometheus scrape with this bearer token
        # (unset: /metrics is 404); every log line is text or one JSON object.
        "DSAR_METRICS_TOKEN": _metrics_token(env),
        "DSAR_LOG_FORMAT": log_format(env),
        # Signed checkpoints of the chain's head, written every DSAR_CHECKPOINT_INTERVAL
        # seconds: keep the folder (or a copy) where the database's users cannot write.
        "DSAR_AUDIT_DIR": Path(env.get("DSAR_AUDIT_DIR") or instance / "audit"),
        "DSAR_CHECKPOINT_INTERVAL": _int(env, "DSAR_CHECKPOINT_INTERVAL", 300, minimum=10),
        # When the staff who chose a daily digest get it (cron, UTC): 7:00 by default.
        "DSAR_DIGEST_CRON": _cron(env, "DSAR_DIGEST_CRON", "0 7 * * *"),
        # Systems with no API: days the owner has before the officer is told, and reminders.
        "DSAR_MANUAL_DAYS": _int(env, "DSAR_MANUAL_DAYS", 7, minimum=1),
        "DSAR_MANUAL_REMINDER_DAYS": _intervals(env, "DSAR_MANUAL_REMINDER_DAYS", "2,5"),
        # Documents: rows printed per table (the rest is in the attachments), render limit.
        "DSAR_PDF_MAX_ROWS": _int(env, "DSAR_PDF_MAX_ROWS", 200, minimum=1),
        "DSAR_PDF_TIMEOUT": _int(env, "DSAR_PDF_TIMEOUT", 300, minimum=10),
        # Evidence PDFs are signed when both are set (PEM files; passphrase optional).
        "DSAR_SIGNING_KEY": env.get("DSAR_SIGNING_KEY", ""),
        "DSAR_SIGNING_CERT": env.get("DSAR_SIGNING_CERT", ""),
        "DSAR_SIGNING_PASSPHRASE": env.get("DSAR_SIGNING_PASSPHRASE", ""),
        # Secure delivery: the link's life, the one-time code's life and tries.
        "DSAR_DELIVERY_DAYS": _int(env, "DSAR_DELIVERY_DAYS", 30, minimum=1),
        # Answers that go out without an officer's review: kinds ("opt_out") or laws and
        # kinds ("ccpa:deletion"), comma-separated, or "all". Every other answer waits in
        # ready_for_review until an officer releases it.
        "DSAR_RELEASE_AT_ONCE": _names(
            env, "DSAR_RELEASE_AT_ONCE", "opt_out,limit_sensitive,restriction,objection"
        ),
        "DSAR_CODE_MINUTES": _int(env, "DSAR_CODE_MINUTES", 15, minimum=1),
        "DSAR_CODE_ATTEMPTS": _int(env, "DSAR_CODE_ATTEMPTS", 5, minimum=1),
        # Retention: located data purged this many days after completion; the request's
        # accountability record kept this many months, then stripped of the identity.
        "DSAR_PURGE_DAYS": _int(env, "DSAR_PURGE_DAYS", 30),
        "DSAR_RECORD_MONTHS": _int(env, "DSAR_RECORD_MONTHS", 24, minimum=24),
        "DSAR_RETENTION_INTERVAL": _int(env, "DSAR_RETENTION_INTERVAL", 86400, minimum=60),
        "DSAR_QC_EXTENSION_DAYS": _int(env, "DSAR_QC_EXTENSION_DAYS", 0),
        "DSAR_CO_APPEAL_EXTENSION_DAYS": _int(env, "DSAR_CO_APPEAL_EXTENSION_DAYS", 60),
        # Portability sent straight to another company (GDPR Art. 20(2)).
        **_transfer_hatches(env, production),
        # Integrators' webhooks (dsar.services.webhook_delivery): the seconds between tries
        # of a delivery that failed (one retry per number), and each try's time limit.
        "DSAR_WEBHOOK_RETRY_INTERVALS": _intervals(
            env, "DSAR_WEBHOOK_RETRY_INTERVALS", "10,60,300,1800,7200"
        ),
        "DSAR_WEBHOOK_TIMEOUT_SECONDS": _int(env, "DSAR_WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1),
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "TESTING": mode == "testing",
    }
