"""API keys: created, listed, rotated and revoked by admins; each does only what its scopes say.

A key is a random secret shown once; only its SHA-256 is stored. Least privilege by
default: a new key may create requests and read the ones it created, nothing more. A key
never learns whether a reference it may not read exists (the API answers 404 as for an
unknown one).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select, update

from dsar.exceptions import DsarError
from dsar.extensions import db
from dsar.models import ApiKey, Request, utcnow
from dsar.services.events import record
from dsar.tokens import digest

CREATE = "requests:create"
READ_OWN = "requests:read"
READ_ALL = "requests:read_all"
VOUCH = "requests:vouch"
DOWNLOAD = "answers:download"
CHOICES_READ = "choices:read"
CHOICES_WRITE = "choices:write"

# What each scope allows, in the words the admin's form and `flask dsar api-keys` show.
SCOPES: dict[str, str] = {
    CREATE: "Create requests on a person's behalf",
    READ_OWN: "Read the requests this key created",
    READ_ALL: "Read every request, from the portal and from other keys",
    VOUCH: "Vouch that the person's identity is verified, so dsar does not email them to check",
    DOWNLOAD: "Download the answers of the requests this key may read",
    CHOICES_READ: "Read a person's privacy choices (before mailing or selling)",
    CHOICES_WRITE: "Record a change of a person's choice made in one of our systems",
}
DEFAULT_SCOPES = (CREATE, READ_OWN)
MAX_NAME = 100
# `last_used_at` is a hint for admins, not an audit record: written at most this often, so
# that a busy integration does not turn every read into a write.
LAST_USED_EVERY = timedelta(minutes=1)


class ApiKeyError(DsarError):
    """An API key change that cannot be made; the message says why."""


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes, known and deduplicated, in the order SCOPES lists them."""
    chosen = set(scopes)
    unknown = sorted(chosen - set(SCOPES))
    if unknown:
        raise ApiKeyError(f"unknown scope {unknown[0]!r}; choose from {', '.join(SCOPES)}")
    if not chosen:
        raise ApiKeyError("choose at least one scope")
    return [scope for scope in SCOPES if scope in chosen]


def _secret(prefix: str) -> str:
    return f"dsar_{prefix}_{secrets.token_urlsafe(32)}"


def create(
    name: str, *, scopes: Iterable[str] = DEFAULT_SCOPES, actor: str = "cli"
) -> tuple[ApiKey, str]:
    """Return the key row and the secret, which is shown once and never stored."""
    name = name.strip()[:MAX_NAME] or "unnamed"
    prefix = secrets.token_hex(4)
    secret = _secret(prefix)
    key = ApiKey(name=name, prefix=prefix, key_hash=digest(secret), scopes=check_scopes(scopes))
    db.session.add(key)
    db.session.flush()
    record(
        None, "api_key_created", actor=actor, detail={"api_key_id": key.id, "scopes": key.scopes}
    )
    db.session.commit()
    return key, secret


def get(key_id: int) -> ApiKey:
    key = db.session.get(ApiKey, key_id)
    if key is None:
        raise ApiKeyError(f"there is no API key #{key_id}")
    return key


def listed() -> list[ApiKey]:
    """Every key, the usable ones first, newest first within each group."""
    keys = db.session.scalars(select(ApiKey).order_by(ApiKey.id.desc())).all()
    return sorted(keys, key=lambda k: k.revoked_at is not None)


def rotate(key: ApiKey, *, actor: str) -> str:
    """Give the key a new secret; the old one stops working at once. Returns the new one."""
    if key.revoked_at is not None:
        raise ApiKeyError(f"API key #{key.id} is revoked; create a new key instead")
    prefix = secrets.token_hex(4)
    secret = _secret(prefix)
    key.prefix, key.key_hash, key.rotated_at = prefix, digest(secret), utcnow()
    record(None, "api_key_rotated", actor=actor, detail={"api_key_id": key.id})
    db.session.commit()
    return secret


def revoke(key: ApiKey, *, actor: str) -> None:
    """Stop the key for good (safe to repeat); its requests keep the record of who made them."""
    if key.revoked_at is not None:
        return
    key.revoked_at = utcnow()
    record(None, "api_key_revoked", actor=actor, detail={"api_key_id": key.id})
    db.session.commit()


def set_scopes(key: ApiKey, scopes: Iterable[str], *, actor: str) -> None:
    chosen = check_scopes(scopes)
    if chosen == key.scopes:
        return
    before = list(key.scopes)
    key.scopes = chosen
    record(
        None,
        "api_key_scopes_changed",
        actor=actor,
        detail={"api_key_id": key.id, "before": before, "after": chosen},
    )
    db.session.commit()


def find(secret: str) -> ApiKey | None:
    """The usable key with this secret, or None."""
    if not secret.startswith("dsar_") or len(secret) > 200:
        return None
    key = db.session.scalar(select(ApiKey).where(ApiKey.key_hash == digest(secret)))
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        db.session.execute(
            update(ApiKey)
            .where(ApiKey.id == key.id)
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return key


def allows(key: ApiKey, scope: str) -> bool:
    return scope in (key.scopes or [])


def may_read(key: ApiKey, req: Request) -> bool:
    if allows(key, READ_ALL):
        return True
    return allows(key, READ_OWN) and req.api_key_id == key.id


def may_download(key: ApiKey, req: Request) -> bool:
    return allows(key, DOWNLOAD) and may_read(key, req)
