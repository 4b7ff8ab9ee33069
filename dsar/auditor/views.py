"""The auditor blueprint; routes in the modules imported at the bottom register on `bp`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

bp = Blueprint("auditor", __name__, url_prefix="/audit")


@bp.after_request
def no_store(response: Any) -> Any:
    """Evidence, metrics and the chain name requests: no browser or proxy keeps a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


# Routes in other modules register on `bp` when imported.
from dsar.auditor import (  # noqa: E402, F401
    chain_views,
    evidence_views,
    ledger_views,
    metrics_views,
)
