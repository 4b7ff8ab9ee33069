"""`/healthz` for load balancers and `/metrics` for Prometheus: thin views over
`dsar.services.health` and `dsar.services.telemetry`."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST

from dsar.extensions import limiter
from dsar.services import health, telemetry

bp = Blueprint("ops", __name__)

NO_STORE = {"Cache-Control": "no-store"}


@bp.get("/healthz")
@limiter.exempt
def healthz() -> tuple[dict[str, str], int, dict[str, str]]:
    """200 when this process reaches the database and Redis, else 503 naming what failed."""
    result = health.check()
    return result, 200 if result["status"] == health.OK else 503, NO_STORE


@bp.get("/metrics")
@limiter.exempt
def metrics() -> Response:
    """The Prometheus exposition, for the bearer of DSAR_METRICS_TOKEN; 404 while unset."""
    token = current_app.config["DSAR_METRICS_TOKEN"]
    if not token:
        abort(404)
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return Response(
            "A valid metrics token is required.\n",
            401,
            {"WWW-Authenticate": 'Bearer realm="dsar metrics"', **NO_STORE},
            mimetype="text/plain",
        )
    return Response(telemetry.exposition(), headers=NO_STORE, content_type=CONTENT_TYPE_LATEST)
