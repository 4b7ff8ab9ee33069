"""The transparency page: what the company holds and why, from the registry, versioned.

Its content is what the registry says about each enabled system (its name, description and
`disclosure`: purposes, categories, legal basis, retention, recipients, transfers abroad,
source, automated decisions; with their `languages` tables), in key order. Whenever that
changes, the next reader publishes a new version (`NoticeVersion`: number, SHA-256 of the
canonical content, the content itself): the page is always in step with the registry, an
earlier version still reads as it was, and its number is what a record of a person's
choices cites as the notice they were shown.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from dsar.extensions import db
from dsar.models import DataSystem, NoticeVersion

# What a system tells the page: the registry's own words, as the access letter uses them.
_WORDS = ("name", "description", "places", "languages")


def content() -> dict[str, Any]:
    """What the page says now: the enabled systems, in key order."""
    systems = db.session.scalars(
        select(DataSystem).where(DataSystem.enabled.is_(True)).order_by(DataSystem.key)
    ).all()
    return {
        "systems": [
            {
                "key": s.key,
                "name": s.name,
                "description": s.description or "",
                "kind": s.kind.value,
                "labels": {k: v for k, v in (s.labels or {}).items() if k in _WORDS},
                "disclosure": s.disclosure or {},
            }
            for s in systems
        ]
    }


def _digest(value: dict[str, Any]) -> str:
    canonical = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def current(*, commit: bool = True) -> NoticeVersion:
    """The version in force: the latest, or a new one when the registry has changed since.

    `commit=False` publishes a new version in the caller's transaction (a savepoint), for a
    caller in the middle of its own work (the consent ledger): it is stored with that work."""
    for _attempt in range(3):
        now = content()
        digest = _digest(now)
        latest = latest_version()
        if latest is not None and latest.sha256 == digest:
            return latest
        # A registry back in an earlier state is a change too: published anew.
        number = (latest.number if latest else 0) + 1
        version = NoticeVersion(number=number, sha256=digest, content=now)
        try:
            with db.session.begin_nested():
                db.session.add(version)
            if commit:
                db.session.commit()
        except IntegrityError:  # another reader took the number at the same moment: look again
            if commit:
                db.session.rollback()
            continue
        return version
    raise RuntimeError("the transparency page's version could not be published")


def latest_version() -> NoticeVersion | None:
    return db.session.scalar(select(NoticeVersion).order_by(NoticeVersion.number.desc()))


def version(number: int) -> NoticeVersion | None:
    return db.session.scalar(select(NoticeVersion).where(NoticeVersion.number == number))


def versions() -> list[NoticeVersion]:
    """Every version, newest first."""
    return list(db.session.scalars(select(NoticeVersion).order_by(NoticeVersion.number.desc())))
