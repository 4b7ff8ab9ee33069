"""Register data systems from a readable TOML file (see dsar/demo/systems.toml)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dsar.connectors import validate_config
from dsar.exceptions import ConfigFileError, ConnectorError
from dsar.extensions import db
from dsar.models import DataSystem, SystemKind
from dsar.services.events import record

_META = ("name", "owner", "contact", "description")


@dataclass(frozen=True)
class LoadReport:
    added: list[str]
    updated: list[str]
    unchanged: list[str]


def _parse(path: Path) -> list[dict[str, Any]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigFileError(f"{path}: no such file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigFileError(f"{path}: not valid TOML: {exc}") from None
    systems = data.get("system")
    if not isinstance(systems, list) or not systems:
        raise ConfigFileError(f"{path}: expected one or more [[system]] tables")
    return systems


def _check(entry: dict[str, Any], index: int, seen: set[str]) -> tuple[str, SystemKind]:
    key = entry.get("key")
    where = f"system #{index + 1}" + (f" ({key})" if isinstance(key, str) else "")
    if not isinstance(key, str) or not key.replace("_", "").replace("-", "").isalnum():
        raise ConfigFileError(f"{where}: 'key' must be letters, digits, - or _")
    if key in seen:
        raise ConfigFileError(f"{where}: key {key!r} appears twice")
    if not isinstance(entry.get("name"), str) or not entry["name"].strip():
        raise ConfigFileError(f"{where}: 'name' is required")
    try:
        kind = SystemKind(entry.get("kind"))
    except ValueError:
        choices = ", ".join(k.value for k in SystemKind)
        raise ConfigFileError(f"{where}: 'kind' must be one of {choices}") from None
    try:
        validate_config(kind, entry.get("config", {}))
    except ConnectorError as exc:
        raise ConfigFileError(f"{where}: {exc}") from None
    return key, kind


def load_file(path: Path, *, actor: str = "cli") -> LoadReport:
    """Add or update every system in the file; all or nothing. Systems not named are kept."""
    entries = _parse(path)
    checked: list[tuple[str, SystemKind, dict[str, Any]]] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        key, kind = _check(entry, index, seen)
        seen.add(key)
        checked.append((key, kind, entry))
    report = LoadReport([], [], [])
    for key, kind, entry in checked:
        values = {m: str(entry.get(m, "")) for m in _META}
        values.update(
            kind=kind, config=entry.get("config", {}), enabled=bool(entry.get("enabled", True))
        )
        system = db.session.scalar(select(DataSystem).where(DataSystem.key == key))
        if system is None:
            db.session.add(DataSystem(key=key, **values))
            report.added.append(key)
        elif any(getattr(system, f) != v for f, v in values.items()):
            for field, value in values.items():
                setattr(system, field, value)
            report.updated.append(key)
        else:
            report.unchanged.append(key)
    if report.added or report.updated:
        record(
            None,
            "systems_loaded",
            actor=actor,
            detail={"added": report.added, "updated": report.updated},
        )
    db.session.commit()
    return report
