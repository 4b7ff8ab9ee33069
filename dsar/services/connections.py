"""Reach a data system: its connector, built one way for the workers and the connection test."""

from __future__ import annotations

import hmac

from flask import current_app

from dsar.connectors import Connector, connector_for
from dsar.models import DataSystem, SystemKind
from dsar.services.system_reach import confined, placeholder_values, spreadsheet_folder


def _pseudonym_key() -> bytes:
    key = current_app.config["DSAR_PSEUDONYM_KEY"]
    if key:
        return key.encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), b"pseudonyms", "sha256").digest()


def connector(system: DataSystem) -> Connector:
    """Raises ConnectorError, as a failed call would, for a spreadsheet outside
    DSAR_SPREADSHEET_DIR (registered before the setting changed, or a link moved since)."""
    settings = placeholder_values()
    if system.kind is SystemKind.CSV and isinstance(system.config, dict):
        confined(system.config.get("path"), settings, spreadsheet_folder())
    return connector_for(
        system.kind,
        system.config,
        settings=settings,
        timeout=current_app.config["DSAR_CONNECTOR_TIMEOUT"],
        pseudonym_key=_pseudonym_key(),
    )
