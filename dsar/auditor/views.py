"""The auditor blueprint; routes in the modules imported at the bottom register on `bp`."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auditor", __name__, url_prefix="/audit")

# Routes in other modules register on `bp` when imported.
from dsar.auditor import chain_views, evidence_views, metrics_views  # noqa: E402, F401
