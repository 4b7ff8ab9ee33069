"""What a data system's fields may hold, checked one way for the TOML file and the registry
pages; `SystemInvalid` names the field at fault. The disclosure's checks are in
dsar.services.system_disclosure; what needs the rest of the registry or the settings (the
identity fields a system matches on, where its spreadsheet is) in dsar.services.system_reach."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from dsar import i18n, inputs
from dsar.connectors import validate_config
from dsar.exceptions import ConnectorError, SystemInvalid
from dsar.models import SystemKind
from dsar.services.system_disclosure import DISCLOSURE_LISTS as DISCLOSURE_LISTS
from dsar.services.system_disclosure import DISCLOSURE_TEXTS as DISCLOSURE_TEXTS
from dsar.services.system_disclosure import check_disclosure, languages
from dsar.services.system_secrets import refuse_hidden, refuse_secrets

META = ("name", "owner", "contact", "description")
# The fields an admin may change, in the order events list them.
FIELDS = (
    "name",
    "kind",
    "owner",
    "contact",
    "description",
    "enabled",
    "config",
    "disclosure",
    "labels",
    "max_concurrency",
)
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_LIMITS = {"name": 200, "owner": 200, "contact": 254}


def _kind(value: Any) -> SystemKind:
    try:
        return SystemKind(value)
    except ValueError:
        choices = ", ".join(k.value for k in SystemKind)
        raise SystemInvalid(f"'kind' must be one of {choices}", field="kind") from None


# A manual system's settings: the owner's deadline, what to tell them, the language they read
# (their emails and, unless their browser is told otherwise, their task page).
MANUAL_SETTINGS = frozenset({"deadline_days", "instructions", "owner_language"})


def check_config(kind: SystemKind, config: Any) -> None:
    """Raise SystemInvalid (field "config") naming the first problem in a system's config."""
    if not isinstance(config, dict):
        raise SystemInvalid("the connection settings must be an object of settings", field="config")
    refuse_secrets(kind, config)
    refuse_hidden(config)
    if kind is SystemKind.MANUAL:
        # No connection: only the owner's deadline and what to tell them (dsar.services.manual).
        unknown = sorted(set(config) - MANUAL_SETTINGS)
        if unknown:
            raise SystemInvalid(
                "manual systems take only 'deadline_days', 'instructions' and "
                f"'owner_language'; remove "
                f"{', '.join(repr(k) for k in unknown)}",
                field="config",
            )
        days = config.get("deadline_days")
        if days is not None and (type(days) is not int or not 1 <= days <= 90):
            raise SystemInvalid(
                "'deadline_days' must be a whole number of days from 1 to 90", field="config"
            )
        text = config.get("instructions")
        if text is not None and (not isinstance(text, str) or len(text) > 2000):
            raise SystemInvalid(
                "'instructions' must be text of at most 2,000 characters", field="config"
            )
        language = config.get("owner_language")
        if language is not None and i18n.chosen(language) is None:
            raise SystemInvalid(
                f"'owner_language' must be one of {', '.join(i18n.LANGUAGES)}", field="config"
            )
        return
    try:
        validate_config(kind, config)
    except ConnectorError as exc:
        raise SystemInvalid(str(exc), field="config") from None


LABEL_TEXTS = frozenset(
    {
        "opt_out",
        "opt_out_undo",
        "erase",
        "restriction",
        "objection",
        "limit_sensitive",
        "correct",
        "restriction_lift",
        "objection_lift",
    }
)


def _label_text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise SystemInvalid(
            f"labels: '{where}' must be text of 1 to 500 characters", field="labels"
        )
    return value.strip()


def _field_label(name: str, value: Any) -> str | dict[str, str]:
    """A column's words: a label, or a table with its label and what yes and no mean."""
    if isinstance(value, str):
        return _label_text(value, f"fields.{name}")
    if not isinstance(value, dict) or "label" not in value or set(value) - {"label", "yes", "no"}:
        raise SystemInvalid(
            f"labels: 'fields.{name}' must be text, or a table with label (and yes, no)",
            field="labels",
        )
    return {k: _label_text(v, f"fields.{name}.{k}") for k, v in value.items()}


def check_labels(value: Any, *, nested: bool = False) -> dict[str, Any]:
    """The words the person reads for a system: `places` (table or endpoint -> words),
    `fields` (column -> words, or label with yes/no meanings), and what `opt_out`,
    `opt_out_undo`, `erase`, the other flags and their lifting (`restriction_lift`,
    `objection_lift`) did, in a sentence each. `languages` gives them, and the system's
    `name`, `description` and `owner`, in other languages."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SystemInvalid("'labels' must be a table", field="labels")
    texts = LABEL_TEXTS | {"name", "description", "owner"} if nested else LABEL_TEXTS
    groups = {"places", "fields"} if nested else {"places", "fields", "languages"}
    unknown = sorted(set(value) - groups - texts)
    if unknown:
        known = ", ".join(sorted(groups | texts))
        raise SystemInvalid(
            f"labels: unknown key {unknown[0]!r}; known keys: {known}", field="labels"
        )
    clean: dict[str, Any] = {k: _label_text(value[k], k) for k in texts if k in value}
    if "languages" in value:
        clean["languages"] = languages(value["languages"], check_labels, "labels")
    for group in ("places", "fields"):
        if group not in value:
            continue
        table = value[group]
        if not isinstance(table, dict):
            raise SystemInvalid(f"labels: '{group}' must be a table of names", field="labels")
        if group == "places":
            clean[group] = {str(k): _label_text(v, f"places.{k}") for k, v in table.items()}
        else:
            clean[group] = {str(k): _field_label(str(k), v) for k, v in table.items()}
    return {k: v for k, v in clean.items() if v}  # an empty table says nothing


def check_concurrency(value: Any) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
        raise SystemInvalid(
            "'max_concurrency' must be a whole number from 0 (no cap) to 1000",
            field="max_concurrency",
        )
    return value


def check_key(key: Any) -> str:
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise SystemInvalid("'key' must be 1 to 64 letters, digits, - or _", field="key")
    return key


def check_strings(value: Any, field: str) -> None:
    """Every string in a nested setting is text that can be stored (dsar.inputs.problem)."""
    if isinstance(value, str):
        if inputs.problem(value, multiline=True) is not None:
            raise SystemInvalid(
                f"'{field}' holds a value with control or broken characters", field=field
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            check_strings(key, field)
            check_strings(item, field)
    elif isinstance(value, list):
        for item in value:
            check_strings(item, field)


def clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a system, checked; SystemInvalid names the first wrong one."""
    clean: dict[str, Any] = {}
    for name in META:
        value = values.get(name, "")
        if value is None:
            value = ""
        try:
            value = inputs.clean(value, multiline=name == "description")
        except inputs.InputRefused as exc:
            raise SystemInvalid(f"'{name}': {exc.message}", field=name) from None
        if name in _LIMITS and len(value) > _LIMITS[name]:
            raise SystemInvalid(f"'{name}' must be at most {_LIMITS[name]} characters", field=name)
        clean[name] = value
    if not clean["name"]:
        raise SystemInvalid("'name' is required", field="name")
    clean["kind"] = _kind(values.get("kind"))
    clean["enabled"] = bool(values.get("enabled", True))
    config = values.get("config")
    config = {} if config is None else copy.deepcopy(config)
    check_strings(config, "config")
    check_config(clean["kind"], config)
    clean["config"] = config
    disclosure = values.get("disclosure")
    check_strings(disclosure, "disclosure")
    clean["disclosure"] = check_disclosure(disclosure)
    labels = values.get("labels")
    check_strings(labels, "labels")
    clean["labels"] = check_labels(labels)
    clean["max_concurrency"] = check_concurrency(values.get("max_concurrency"))
    return clean
