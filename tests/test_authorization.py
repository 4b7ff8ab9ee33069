"""Every route of the app, for anonymous visitors and each staff role: the status it answers.

The matrix is checked against the app's URL map, so a new route that is not listed here
fails this test until someone decides who may use it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar.extensions import db
from dsar.models import Event, Request
from dsar.services import answers, intake, uploads, workflow
from dsar.services.api_keys import create as create_api_key
from tests.conftest import csrf_token

ROLES = ("anonymous", "auditor", "officer", "admin")
LOGIN = 302  # login_required sends anonymous visitors to the sign-in page
ANY_STAFF = {"anonymous": {LOGIN}, "auditor": {200}, "officer": {200}, "admin": {200}}
ACTORS = {"anonymous": {LOGIN}, "auditor": {403}, "officer": {302}, "admin": {302}}
ADMIN_PAGE = {"anonymous": {LOGIN}, "auditor": {403}, "officer": {403}, "admin": {200}}
ADMIN_POST = {"anonymous": {LOGIN}, "auditor": {403}, "officer": {403}, "admin": {302, 422}}


def everyone(*codes: int) -> dict[str, set[int]]:
    return {role: set(codes) for role in ROLES}


# (endpoint, method) -> expected status per role
MATRIX: dict[tuple[str, str], dict[str, set[int]]] = {
    ("static", "GET"): everyone(200),
    ("portal.home", "GET"): everyone(200),
    # For machines: the load balancer's health check; the metrics are off (404) without a
    # DSAR_METRICS_TOKEN, and a staff sign-in is no token (tests/test_observability.py).
    ("ops.healthz", "GET"): everyone(200),
    ("ops.metrics", "GET"): everyone(404),
    ("portal.new_request", "GET"): everyone(200),
    ("portal.new_request", "POST"): everyone(422),  # empty form: errors, nothing stored
    ("portal.choose_language", "GET"): everyone(400),  # no language named: said in words
    ("portal.status", "GET"): everyone(200),
    ("portal.progress", "GET"): everyone(200),
    ("portal.response_pdf", "GET"): everyone(302),  # no download grant: to the code step
    ("portal.gpc_opt_out", "POST"): everyone(400),  # no Sec-GPC header: nothing stored
    ("portal.send_code", "POST"): everyone(404),  # the answer is not ready
    ("portal.download", "GET"): everyone(404),
    ("portal.download", "POST"): everyone(404),
    ("portal.answer_file", "GET"): everyone(404),  # another request's document
    ("portal.appeal", "GET"): everyone(200),  # "this decision cannot be appealed here"
    ("portal.appeal", "POST"): everyone(422),
    ("portal.appeal_by_link", "GET"): everyone(404),  # a tracking token is no appeal link
    ("portal.appeal_by_link", "POST"): everyone(404),
    ("staff.decide_appeal", "POST"): {**ACTORS, "officer": {422}, "admin": {422}},
    ("staff.lift", "POST"): {**ACTORS, "officer": {422}, "admin": {422}},
    ("portal.disown", "POST"): everyone(404),  # no agent made the world's waiting request
    ("staff.agents_list", "GET"): ANY_STAFF,
    ("staff.revoke_agent", "POST"): {**ACTORS, "officer": {404}, "admin": {404}},  # no agent 1
    ("portal.verify", "GET"): everyone(200),
    ("portal.verify", "POST"): everyone(302),
    # The waiting request's email went out a moment ago: "ask again in two minutes", in words.
    ("portal.verify_again", "POST"): everyone(302),
    ("portal.transparency_page", "GET"): everyone(200),
    ("portal.send_message", "POST"): everyone(422),  # empty: said in words, nothing stored
    ("portal.transparency_versions", "GET"): everyone(200),
    ("portal.transparency_version", "GET"): everyone(200),
    # The preference centre: its pages open to all; the person's choices only after an
    # emailed link is opened (none here), and a tracking token is no such link.
    ("portal.choices_start", "GET"): everyone(200),
    ("portal.choices_ask", "POST"): everyone(422),  # no address: said in words, no link
    ("portal.choices_open", "GET"): everyone(404),
    ("portal.my_choices", "GET"): everyone(302),  # to /choices: ask for a link
    ("portal.save_choices", "POST"): everyone(302),
    ("portal.choices_progress", "GET"): everyone(403),
    ("portal.leave_choices", "POST"): everyone(302),
    ("auditor.ledger_search", "GET"): ANY_STAFF,
    ("staff.notifications_page", "GET"): ANY_STAFF,
    ("staff.notifications_read", "POST"): {
        **ANY_STAFF,
        "auditor": {302},
        "officer": {302},
        "admin": {302},
    },
    ("staff.notifications_mode", "POST"): {
        **ANY_STAFF,
        "auditor": {422},
        "officer": {422},
        "admin": {422},
    },
    ("auditor.ledger_lookup", "POST"): {
        **ANY_STAFF,
        "auditor": {422},
        "officer": {422},
        "admin": {422},
    },
    ("auditor.request_ledger", "GET"): ANY_STAFF,
    ("api.get_choices", "GET"): everyone(401),
    ("api.record_choice", "POST"): everyone(401),
    ("owner.task", "GET"): everyone(404),  # not a task link: "used or expired"
    ("owner.task", "POST"): everyone(404),
    ("staff.resend_task_link", "POST"): ACTORS,
    ("staff.resend_download_code", "POST"): ACTORS,  # no answer yet: said, back to the page
    # A decision refused before any confirmation: approving a request that waits for its
    # email (said, back to the page), an empty denial or cancellation (422, with the page).
    ("staff.approve", "POST"): ACTORS,
    ("staff.deny", "POST"): {**ACTORS, "officer": {422}, "admin": {422}},
    ("staff.cancel", "POST"): {**ACTORS, "officer": {422}, "admin": {422}},
    ("api.create_request", "POST"): everyone(401),  # staff sessions are no API key
    ("api.get_request", "GET"): everyone(401),
    ("api.response_pdf", "GET"): everyone(401),
    ("api-docs.openapi_json", "GET"): everyone(200),
    ("staff.login", "GET"): everyone(200),
    ("staff.login", "POST"): everyone(422),  # wrong password
    ("staff.logout", "POST"): everyone(302),
    ("staff.queue", "GET"): ANY_STAFF,
    ("staff.queue_csv", "GET"): ANY_STAFF,
    ("staff.reopen", "POST"): {**ACTORS, "officer": {422}, "admin": {422}},
    ("staff.home", "GET"): ANY_STAFF,
    ("staff.request_page", "GET"): ANY_STAFF,
    ("staff.document", "GET"): ANY_STAFF,
    ("staff.letter_preview", "GET"): ANY_STAFF,
    ("staff.correspondence_file", "GET"): ANY_STAFF,  # every download is recorded
    ("staff.record_request", "GET"): {**ACTORS, "officer": {200}, "admin": {200}},
    ("staff.record_request", "POST"): {**ACTORS, "officer": {422}, "admin": {422}},
    # The world's request is no correction: refused in words, with the page (422).
    ("staff.decide_correction", "POST"): {**ACTORS, "officer": {422}, "admin": {422}},
    ("auditor.evidence_pdf", "GET"): {**ADMIN_PAGE, "auditor": {200}},  # officers: 403
    ("staff.systems_list", "GET"): ANY_STAFF,
    ("staff.new_system", "GET"): ADMIN_PAGE,
    ("staff.new_system", "POST"): ADMIN_POST,
    ("staff.edit_system", "GET"): ADMIN_PAGE,
    ("staff.edit_system", "POST"): ADMIN_POST,
    ("staff.disable_system", "POST"): {**ADMIN_POST, "admin": {200}},  # what it does, first
    ("staff.enable_system", "POST"): ADMIN_POST,
    ("staff.check_connection", "POST"): ACTORS,
    ("auditor.chain", "GET"): ANY_STAFF,
    ("auditor.chain_checkpoint", "GET"): ANY_STAFF,
    ("auditor.chain_events", "GET"): ANY_STAFF,
    ("auditor.chain_events_csv", "GET"): ANY_STAFF,
    ("auditor.metrics_page", "GET"): ANY_STAFF,
    ("auditor.metrics_csv", "GET"): ANY_STAFF,
    ("auditor.metrics_pdf", "GET"): ANY_STAFF,
    ("staff.bulk", "POST"): ACTORS,
    ("staff.page_preview", "GET"): ANY_STAFF,
    # The team (admins), an invitation link (a tracking token is none: 404 for all) and
    # each one's own account; user 1 is the signed-in admin, who may neither deactivate
    # themselves nor be sent an invitation, nor reset their own two-factor here (422).
    ("staff.team_page", "GET"): ADMIN_PAGE,
    ("staff.invite", "POST"): ADMIN_POST,  # empty form: 422, nobody invited
    ("staff.change_role", "POST"): ADMIN_POST,
    ("staff.deactivate", "POST"): ADMIN_POST,
    ("staff.reactivate", "POST"): ADMIN_POST,  # already active: said, back to the list
    ("staff.resend_invitation", "POST"): ADMIN_POST,
    ("staff.reset_two_factor", "POST"): ADMIN_POST,
    ("staff.welcome", "GET"): everyone(404),
    ("staff.welcome", "POST"): everyone(404),
    ("staff.login_code", "GET"): everyone(302),  # no password step: to the sign-in page
    ("staff.login_code", "POST"): everyone(302),
    ("staff.account", "GET"): ANY_STAFF,
    ("staff.two_factor_setup", "GET"): ANY_STAFF,
    **{
        (f"staff.{name}", "POST"): {**ANY_STAFF, "auditor": {422}, "officer": {422}, "admin": {422}}
        for name in ("two_factor_confirm", "two_factor_off", "recovery_codes")  # no code: 422
    },
    ("staff.api_keys_page", "GET"): ADMIN_PAGE,
    ("staff.create_api_key", "POST"): ADMIN_POST,  # empty form: 422, no key made
    ("staff.api_key_scopes", "POST"): ADMIN_POST,
    ("staff.revoke_api_key", "POST"): ADMIN_POST,
    # The matrix runs in name order: the key is revoked by then, and rotating is refused.
    ("staff.rotate_api_key", "POST"): ADMIN_POST,
    # Webhooks of the world's key: the page, an empty form (422), an endpoint that is not there.
    ("staff.webhooks_page", "GET"): ADMIN_PAGE,
    ("staff.add_webhook", "POST"): ADMIN_POST,
    **{
        (f"staff.{name}", "POST"): {**ADMIN_POST, "admin": {404}}
        for name in ("webhook_active", "delete_webhook", "resend_webhook")
    },
    **{
        (f"staff.{name}", "POST"): ACTORS
        for name in (
            "assign",
            "clarify",
            "duplicate",
            "extend",
            "note",
            "pause",
            "resume",
            "reply",
            "spam",
            "task_done",
            "retry_task",
            "retry_failed",
            "skip_task",
            "redact",
            "unredact",
            "release",
        )
    },
}


def test_the_matrix_covers_every_route_of_the_app(app: Flask) -> None:
    routes = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes - set(MATRIX) == set(), "routes missing from the authorization matrix"
    assert set(MATRIX) - routes == set(), "the matrix lists routes the app no longer has"


@pytest.fixture
def world(app: Flask, demo_systems: list[str]) -> dict[str, str]:
    """A request with a task, a document and a verification link to fill the URLs with."""
    key, _ = create_api_key("tests")
    done = intake.submit(
        intake.Submission(
            kind="opt_out", regime="ccpa", name="Jane Doe", email="jane.doe@example.com"
        ),
        channel="api",
        api_key=key,
        identity_verified=True,
    )
    for task in list(done.request.tasks):
        workflow.run_task(task.id, last_attempt=True)
    answers.compile_response(done.request.id)
    waiting = intake.submit(
        intake.Submission(
            kind="access", regime="uk_gdpr", name="Ann Smith", email="ann@example.org"
        ),
        channel="portal",
    )
    req = db.session.get(Request, waiting.request.id)
    from dsar.tokens import digest, new_token

    code = new_token()
    req.verification_hash = digest(code)
    letter = uploads.Incoming("letter.csv", b"name,asked\nAnn Smith,a copy\n")
    (original,) = uploads.store_correspondence(req, uploads.check([letter]), added_by=None)
    db.session.commit()
    return {
        "reference": req.reference,
        "token": waiting.tracking_token,
        "done_token": done.tracking_token,
        "done_reference": done.request.reference,
        "code": code,
        "task_id": str(done.request.tasks[0].id),
        "document_id": str(done.request.documents[0].id),
        "file_id": str(original.id),
        "key": "crm",
        "key_id": str(key.id),
    }


def url_for_rule(app: Flask, endpoint: str, world: dict[str, str]) -> str:
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    values = {
        "reference": world["done_reference"]
        if endpoint
        in {
            "staff.document",
            "staff.letter_preview",
            "staff.task_done",
            "staff.retry_task",
            "staff.skip_task",
            "staff.page_preview",
        }
        else world["reference"],
        "token": world["done_token"] if endpoint == "portal.response_pdf" else world["token"],
        "code": world["code"],
        "task_id": world["task_id"],
        "document_id": world["document_id"],
        "file_id": world["file_id"],
        "key": world["key"],
        "key_id": world["key_id"],
        "agent_id": 1,
        "filename": "css/app.css",
        "page": 1,
        "redaction_id": 1,
        "number": 1,
        "user_id": 1,
        "endpoint_id": 1,
        "delivery_id": 1,
    }
    return rule.build({k: values[k] for k in rule.arguments})[1]


@pytest.mark.parametrize("role", ROLES)
def test_each_route_answers_each_role_as_the_matrix_says(
    app: Flask,
    client: FlaskClient,
    login: Callable[[str], str],
    world: dict[str, str],
    role: str,
) -> None:
    if role != "anonymous":
        login(role)
    token = csrf_token(client, "/request")
    wrong: list[str] = []
    for (endpoint, method), expected in sorted(MATRIX.items()):
        if endpoint in {"staff.logout"}:
            continue  # checked last: it ends the session the other checks need
        url = url_for_rule(app, endpoint, world)
        if method == "GET":
            with client.get(url) as resp:
                status = resp.status_code
        else:
            status = client.post(url, data={"csrf_token": token}).status_code
        if status not in expected[role]:
            wrong.append(f"{method} {url} as {role}: {status}, expected {sorted(expected[role])}")
    status = client.post("/staff/logout", data={"csrf_token": token}).status_code
    if status not in MATRIX[("staff.logout", "POST")][role]:
        wrong.append(f"POST /staff/logout as {role}: {status}")
    assert wrong == []
    if role in {"anonymous", "auditor"}:
        # Looking changed nothing: no staff action in any history, only what was read.
        by_staff = db.session.scalars(select(Event.action).where(Event.actor.like("user:%"))).all()
        downloads = [
            "correspondence_downloaded",
            "document_downloaded",
            "evidence_downloaded",
            "letter_previewed",
            "queue_exported",
        ]
        expected = downloads if role == "auditor" else []
        assert sorted(by_staff) == expected


def test_the_matrix_size_is_reported(app: Flask) -> None:
    cells = len(MATRIX) * len(ROLES)
    assert cells >= 4 * 40
