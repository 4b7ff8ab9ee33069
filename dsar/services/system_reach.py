"""What a data system reaches beyond its own settings: the identity fields it matches people
by, which only the rest of the registry can confirm, and the spreadsheet it reads and
rewrites, which must lie in DSAR_SPREADSHEET_DIR. Checked when a system is added, edited or
loaded from a file, and the spreadsheet again whenever its connector is built (a link in the
folder may have changed since)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from dsar.connectors import dependencies
from dsar.connectors.base import IDENTITY_FIELDS
from dsar.connectors.checks import expand
from dsar.exceptions import ConnectorError, SystemInvalid
from dsar.extensions import db
from dsar.models import DataSystem, SystemKind

# Settings a system's config may name as `${...}`: folders and URLs, never secrets.
PLACEHOLDERS = ("DSAR_DEMO_DIR", "DSAR_HELPDESK_URL", "DSAR_SPREADSHEET_DIR")
# The person's details every connector can match on, in the order the pages list them.
PERSON_FIELDS = tuple(f for f in ("email", "phone", "name") if f in IDENTITY_FIELDS)

Exports = Mapping[str, Sequence[str]]


def placeholder_values() -> dict[str, str]:
    return {name: str(current_app.config[name]) for name in PLACEHOLDERS}


def spreadsheet_folder() -> Path:
    return Path(current_app.config["DSAR_SPREADSHEET_DIR"])


def confined(raw: Any, settings: Mapping[str, str], folder: Path) -> Path:
    """The spreadsheet's path with `..` and links followed; ConnectorError when it is not a
    file inside `folder` (a CSV system rewrites its file: it must not reach dsar's own)."""
    if not isinstance(raw, str) or not raw.strip():
        raise ConnectorError("csv system: 'path' is required (str)")
    try:
        path = Path(expand(raw, settings))
    except ConnectorError as exc:
        allowed = ", ".join(f"${{{name}}}" for name in settings)
        raise ConnectorError(f"csv system: 'path': {exc}; use {allowed}") from None
    if not path.is_absolute():
        raise ConnectorError(
            f"csv system: 'path' must be a full path in the spreadsheet folder {folder}, "
            f"like ${{DSAR_SPREADSHEET_DIR}}/{path.name or 'guests.csv'}"
        )
    if folder.resolve() not in path.resolve().parents:
        how = " through .. or a link" if folder in path.parents else ""
        raise ConnectorError(
            f"csv system: 'path' {raw} leads outside the spreadsheet folder {folder}{how};"
            " keep the file in that folder, or change DSAR_SPREADSHEET_DIR"
        )
    return path


def exported(*, exclude: Collection[str] = ()) -> dict[str, list[str]]:
    """Identifier -> the keys of the registered systems that export it (`exclude` left out)."""
    found: dict[str, list[str]] = {}
    for system in db.session.scalars(select(DataSystem).order_by(DataSystem.key)):
        if system.key not in exclude:
            for name in sorted(dependencies(system.kind, system.config)[1]):
                found.setdefault(name, []).append(system.key)
    return found


def known_fields(exports: Exports) -> str:
    """What a system may match people by, in words: 'email, phone, name, customer_id (from
    crm)'."""
    named = [f"{name} (from {', '.join(keys)})" for name, keys in sorted(exports.items())]
    return ", ".join([*PERSON_FIELDS, *named])


def check_identity(kind: SystemKind, config: Mapping[str, Any], exports: Exports) -> None:
    """Every identity field the system matches on is one of the person's details or an
    identifier another system exports: a typo ('emial') would find no one, silently."""
    unknown = sorted(dependencies(kind, config)[0] - set(exports))
    if not unknown:
        return
    names = ", ".join(repr(u) for u in unknown)
    verb = "is not an identity field" if len(unknown) == 1 else "are not identity fields"
    more = "" if exports else " (no registered system exports an identifier yet)"
    raise SystemInvalid(
        f"{kind.value} system: {names} {verb} dsar knows; match people by one of "
        f"{known_fields(exports)}{more}",
        field="config",
    )


def check(
    key: str, kind: SystemKind, config: Mapping[str, Any], *, exports: Exports | None = None
) -> None:
    """Raise SystemInvalid (field "config") if the system matches on an identity field no
    connector knows, or keeps its spreadsheet outside DSAR_SPREADSHEET_DIR. `exports`:
    the identifiers the other systems export (by default, those of the registry)."""
    check_identity(kind, config, exported(exclude={key}) if exports is None else exports)
    if kind is SystemKind.CSV:
        try:
            confined(config.get("path"), placeholder_values(), spreadsheet_folder())
        except ConnectorError as exc:
            raise SystemInvalid(str(exc), field="config") from None
