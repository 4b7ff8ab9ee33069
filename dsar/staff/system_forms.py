"""The data system form: shape and JSON only; dsar.services.systems decides what is valid."""

from __future__ import annotations

import json
import tomllib
from functools import cache
from typing import Any

from wtforms import (
    BooleanField,
    EmailField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms import Field as WTField
from wtforms.validators import Email, InputRequired, Length, Optional, Regexp

from dsar import inputs
from dsar.config import ROOT
from dsar.models import DataSystem, SystemKind
from dsar.services.system_secrets import masked_config
from dsar.services.systems import KIND_LABELS
from dsar.staff.disclosure_forms import DisclosureForm

MAX_CONFIG = 100_000
# The demo system whose config shows each kind best.
_EXAMPLE_KEYS = {
    SystemKind.SQL: "shop",
    SystemKind.HTTP: "helpdesk",
    SystemKind.CSV: "events",
    SystemKind.MANUAL: "archive",
}


@cache
def config_examples() -> dict[SystemKind, str]:
    """Per kind, an example config as JSON, taken from the demo's systems.toml."""
    data = tomllib.loads((ROOT / "dsar" / "demo" / "systems.toml").read_text(encoding="utf-8"))
    by_key = {s["key"]: s for s in data["system"]}
    examples = {
        kind: json.dumps(by_key[key]["config"], indent=2, ensure_ascii=False)
        for kind, key in _EXAMPLE_KEYS.items()
        if key in by_key
    }
    return examples


def dump_config(config: Any) -> str:
    """A stored config as the textarea shows it: masked, indented JSON."""
    return json.dumps(masked_config(config or {}), indent=2, ensure_ascii=False)


def _json_object(field: WTField, what: str) -> dict[str, Any] | None:
    """The field's JSON object ({} when empty); None, with a message on the field, if not."""
    text = (field.data or "").strip()
    if not text:
        return {}
    try:
        value = inputs.load_json(text, max_bytes=MAX_CONFIG, max_depth=32, what="This JSON text")
    except inputs.InputRefused as exc:
        field.errors.append(exc.message)
        return None
    if not isinstance(value, dict):
        field.errors.append(f"{what} must be a JSON object: {{ ... }}.")
        return None
    return value


class SystemForm(DisclosureForm):
    """Edit a system; the key never changes."""

    name = StringField(
        "Name",
        validators=[
            InputRequired("Give the system a name."),
            Length(max=200, message="Keep the name under 200 characters."),
        ],
    )
    kind = SelectField(
        "Kind",
        choices=[SelectChoice(k.value, KIND_LABELS[k]) for k in SystemKind],
        validators=[InputRequired("Choose the kind of system.")],
    )
    owner = StringField(
        "Owner (team or person responsible)",
        validators=[Optional(), Length(max=200, message="Keep the owner under 200 characters.")],
    )
    contact = EmailField(
        "Contact email (optional)",
        validators=[
            Optional(),
            Length(max=254, message="That email address is too long."),
            Email("Enter an email address like team@example.com.", check_deliverability=False),
        ],
    )
    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=5000, message="Keep this under 5,000 characters.")],
    )
    enabled = BooleanField("Enabled: new requests create a task for this system")
    config = TextAreaField(
        "Connection settings (JSON)",
        validators=[Length(max=MAX_CONFIG, message="Keep the settings under 100,000 characters.")],
    )

    labels = TextAreaField(
        "Words for the person (JSON)",
        validators=[Length(max=MAX_CONFIG, message="Keep the words under 100,000 characters.")],
    )

    parsed_config: dict[str, Any] | None = None
    parsed_labels: dict[str, Any] | None = None

    def validate_config(self, field: WTField) -> None:
        self.parsed_config = _json_object(field, "The connection settings")

    def validate_labels(self, field: WTField) -> None:
        self.parsed_labels = _json_object(field, "The words for the person")

    def validate_disclosure_languages(self, field: WTField) -> None:
        self.parsed_languages = _json_object(field, "The words in other languages")

    def values(self, stored: DataSystem | None = None) -> dict[str, Any]:
        """The submitted fields, as dsar.services.systems takes them; `stored`: the system
        being edited (its disclosure's empty keys stay as they are)."""
        return {
            "name": self.name.data or "",
            "kind": self.kind.data,
            "owner": self.owner.data or "",
            "contact": self.contact.data or "",
            "description": self.description.data or "",
            "enabled": bool(self.enabled.data),
            "config": self.parsed_config if self.parsed_config is not None else {},
            "labels": self.parsed_labels if self.parsed_labels is not None else {},
            "disclosure": self.disclosure((stored.disclosure or {}) if stored else {}),
        }

    @classmethod
    def initial(cls, system: DataSystem) -> dict[str, Any]:
        """What the edit form starts with: the stored fields, the config masked."""
        return {
            "name": system.name,
            "kind": system.kind.value,
            "owner": system.owner,
            "contact": system.contact,
            "description": system.description,
            "enabled": system.enabled,
            "config": dump_config(system.config),
            "labels": json.dumps(system.labels or {}, indent=2, ensure_ascii=False),
            **cls.disclosure_initial(system.disclosure),
        }


class NewSystemForm(SystemForm):
    key = StringField(
        "Key",
        validators=[
            InputRequired("Give the system a short key, like crm."),
            Length(max=64, message="Keep the key under 64 characters."),
            Regexp(r"^[A-Za-z0-9_-]+$", message="Use letters, digits, - and _ only."),
        ],
    )
