"""Reach a data system: its connector, built one way for the workers and the connection test."""

from __future__ import annotations

import hmac

from flask import current_app

from dsar.connectors import Connector, connector_for
from dsar.models import DataSystem

# Settings a system's config may name as `${...}`: folders and URLs, never secrets.
PLACEHOLDERS = ("DSAR_DEMO_DIR", "DSAR_HELPDESK_URL")


def _settings() -> dict[str, str]:
    return {name: str(current_app.config[name]) for name in PLACEHOLDERS}


def _pseudonym_key() -> bytes:
    key = current_app.config["DSAR_PSEUDONYM_KEY"]
    if key:
        return key.encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), b"pseudonyms", "sha256").digest()


def connector(system: DataSystem) -> Connector:
    return connector_for(
        system.kind,
        system.config,
        settings=_settings(),
        timeout=current_app.config["DSAR_CONNECTOR_TIMEOUT"],
        pseudonym_key=_pseudonym_key(),
    )
