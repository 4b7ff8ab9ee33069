"""The request clock: pause, resume and extend, in the service, the staff pages and the API."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar.exceptions import ClockRefused
from dsar.extensions import db
from dsar.models import ApiKey, Event, Request, RequestStatus, Role, User
from dsar.services import accounts, api_keys, clock, intake, reminders
from tests.conftest import api_headers, body_of, csrf_token
from tests.conftest import sign_in as conftest_sign_in

OFFICER = ("officer@example.com", "officer-password-1")
AUDITOR = ("auditor@example.com", "auditor-password-1")


def at(day: str, hour: int = 9) -> datetime:
    """An aware UTC moment on `day` (YYYY-MM-DD); tests run with DSAR_TIMEZONE=UTC."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


@pytest.fixture
def key(app: Flask, api_key: str) -> ApiKey:
    found = api_keys.find(api_key)
    assert found is not None
    return found


def make_request(
    key: ApiKey, regime: str = "gdpr", kind: str = "access", received: datetime | None = None
) -> Request:
    sub = intake.Submission(kind=kind, regime=regime, name="Jane Doe", email="jane.doe@example.com")
    receipt = intake.submit(sub, channel="api", api_key=key, identity_verified=True, now=received)
    return receipt.request


def clock_events(req: Request) -> list[Event]:
    db.session.refresh(req)
    return [e for e in req.events if e.action in clock.CLOCK_ACTIONS]


# -- the service -------------------------------------------------------------------------


def test_a_uk_pause_adds_the_paused_days_to_the_due_date(key: ApiKey) -> None:
    req = make_request(key, "uk_gdpr", received=at("2026-01-05"))
    assert req.due_on == date(2026, 2, 5)

    clock.pause(req, reason="waiting for ID", actor="user:1", now=at("2026-01-10"))
    assert req.paused_since == date(2026, 1, 10)
    clock.resume(req, actor="user:2", now=at("2026-01-17"))

    db.session.refresh(req)
    assert req.paused_since is None
    assert req.due_on == date(2026, 2, 12)
    assert req.due_on.strftime("%A") == "Thursday"
    assert "7 days added" in req.due_basis
    assert "Art. 12A" in req.due_basis
    paused, resumed = clock_events(req)
    assert (paused.action, paused.actor, paused.detail["reason"]) == (
        "clock_paused",
        "user:1",
        "waiting for ID",
    )
    assert paused.at == at("2026-01-10")
    assert (resumed.action, resumed.actor) == ("clock_resumed", "user:2")
    assert resumed.at == at("2026-01-17")


def test_an_open_pause_refuses_a_second_pause_and_resume_needs_a_pause(key: ApiKey) -> None:
    req = make_request(key, "uk_gdpr", received=at("2026-01-05"))
    with pytest.raises(ClockRefused, match="not paused"):
        clock.resume(req, actor="user:1", now=at("2026-01-06"))

    clock.pause(req, reason="waiting for ID", actor="user:1", now=at("2026-01-10"))
    assert req.paused_since == date(2026, 1, 10)
    with pytest.raises(ClockRefused, match="paused since 10 January 2026"):
        clock.pause(req, reason="again", actor="user:1", now=at("2026-01-12"))
    db.session.rollback()
    assert [e.action for e in clock_events(req)] == ["clock_paused"]


def test_the_ccpa_has_no_pause_and_nothing_is_recorded(key: ApiKey) -> None:
    req = make_request(key, "ccpa", received=at("2026-01-05"))
    due = req.due_on
    with pytest.raises(ClockRefused, match="has no pause"):
        clock.pause(req, reason="waiting for ID", actor="user:1", now=at("2026-01-10"))
    db.session.rollback()
    assert clock_events(req) == []
    assert (req.paused_since, req.due_on) == (None, due)


@pytest.mark.parametrize("reason", ["", "   \n\t"])
def test_an_extension_needs_a_reason(key: ApiKey, reason: str) -> None:
    req = make_request(key, "gdpr", received=at("2026-01-16"))
    with pytest.raises(ClockRefused, match="Give the reason"):
        clock.extend(req, reason=reason, actor="user:1", now=at("2026-01-20"))
    db.session.rollback()
    assert clock_events(req) == []
    assert req.extended_due_on is None


def test_a_gdpr_extension_adds_two_months_and_tells_the_person(
    key: ApiKey, outbox: Callable[[], list]
) -> None:
    req = make_request(key, "gdpr", received=at("2026-01-16"))
    assert req.due_on == date(2026, 2, 16)

    clock.extend(req, reason="Many systems to search", actor="user:1", now=at("2026-01-20"))
    db.session.refresh(req)
    assert req.due_on == date(2026, 4, 16)
    assert req.first_due_on == date(2026, 2, 16)
    assert req.extended_due_on == date(2026, 4, 16)
    [event] = clock_events(req)
    assert (event.action, event.detail["reason"]) == ("deadline_extended", "Many systems to search")

    [mail] = [m for m in outbox() if m["Subject"].startswith("We need more time")]
    assert mail["To"] == "jane.doe@example.com"
    assert req.reference in mail["Subject"]
    body = body_of(mail)
    assert "Many systems to search" in body
    assert "16 April 2026" in body

    with pytest.raises(ClockRefused, match="Already extended"):
        clock.extend(req, reason="more", actor="user:1", now=at("2026-01-21"))
    db.session.rollback()
    assert len([m for m in outbox() if m["Subject"].startswith("We need more time")]) == 1


def test_an_extension_after_the_first_deadline_is_too_late(
    key: ApiKey, outbox: Callable[[], list]
) -> None:
    req = make_request(key, "gdpr", received=at("2026-01-16"))
    with pytest.raises(ClockRefused, match="Too late to extend"):
        clock.extend(req, reason="late", actor="user:1", now=at("2026-02-17"))
    db.session.rollback()
    assert clock_events(req) == []
    assert (req.due_on, req.extended_due_on) == (date(2026, 2, 16), None)
    assert not [m for m in outbox() if m["Subject"].startswith("We need more time")]


@pytest.mark.parametrize(
    ("regime", "kind", "message"),
    [
        ("ccpa", "opt_out", "allows no extension"),
        ("lgpd", "access", "allows no extension"),
    ],
)
def test_regimes_without_an_extension_refuse_it(
    key: ApiKey, regime: str, kind: str, message: str
) -> None:
    req = make_request(key, regime, kind, received=at("2026-01-16"))
    due = req.due_on
    with pytest.raises(ClockRefused, match=message):
        clock.extend(req, reason="need time", actor="user:1", now=at("2026-01-17"))
    db.session.rollback()
    assert clock_events(req) == []
    assert (req.due_on, req.extended_due_on) == (due, None)


@pytest.mark.parametrize("status", [RequestStatus.COMPLETED, RequestStatus.CANCELLED])
def test_a_closed_request_has_a_stopped_clock(key: ApiKey, status: RequestStatus) -> None:
    req = make_request(key, "uk_gdpr", received=at("2026-01-05"))
    req.status = status
    db.session.commit()
    with pytest.raises(ClockRefused, match="clock has stopped"):
        clock.pause(req, reason="waiting for ID", actor="user:1", now=at("2026-01-10"))
    with pytest.raises(ClockRefused, match="clock has stopped"):
        clock.extend(req, reason="need time", actor="user:1", now=at("2026-01-10"))
    db.session.rollback()
    assert clock_events(req) == []


# -- the staff pages ---------------------------------------------------------------------


@pytest.fixture
def staff(app: Flask) -> None:
    accounts.create_user(OFFICER[0], Role.OFFICER, OFFICER[1])
    accounts.create_user(AUDITOR[0], Role.AUDITOR, AUDITOR[1])


def sign_in(client: FlaskClient, who: tuple[str, str]) -> None:
    resp = conftest_sign_in(client, who)
    assert resp.headers["Location"].endswith("/staff/")


def post_clock(client: FlaskClient, req: Request, action: str, **data: str) -> tuple[int, str]:
    """POST a clock form as the signed-in user; follow the redirect back to the page."""
    page = f"/staff/requests/{req.reference}"
    token = csrf_token(client, page)
    resp = client.post(f"{page}/{action}", data={"csrf_token": token, **data})
    if resp.status_code != 302:
        return resp.status_code, resp.get_data(as_text=True)
    assert resp.headers["Location"].endswith(page)
    return 302, client.get(page).get_data(as_text=True)


def test_an_officer_pauses_resumes_and_extends_from_the_request_page(
    client: FlaskClient, key: ApiKey, staff: None, outbox: Callable[[], list]
) -> None:
    req = make_request(key, "uk_gdpr")
    sign_in(client, OFFICER)
    officer_id = db.session.scalar(select(User.id).where(User.email == OFFICER[0]))

    code, page = post_clock(client, req, "pause", reason="Waiting for a copy of the passport")
    assert code == 302
    assert "The clock is paused; the person has been told why." in page
    today = reminders.today_here()
    assert f"paused since {today.isoformat()}" in page
    assert "Waiting for a copy of the passport" in page  # in the history
    assert "clock paused</strong> by officer@example.com (officer)" in page  # not user:N
    db.session.refresh(req)
    assert req.paused_since == today
    [event] = clock_events(req)
    assert event.actor == f"user:{officer_id}"

    code, page = post_clock(client, req, "resume")
    assert code == 302
    assert "The clock is running again; the person has been told the new date." in page
    assert "paused since" not in page
    db.session.refresh(req)
    assert req.paused_since is None

    code, page = post_clock(client, req, "extend", reason="Ten systems to search")
    assert code == 302
    assert "Extended; the person has been told why and the new date." in page
    db.session.refresh(req)
    assert req.extended_due_on is not None
    assert req.first_due_on is not None
    assert f"extended from {req.first_due_on.isoformat()}" in page
    assert re.search(r'id="respond-by">' + req.extended_due_on.isoformat(), page)
    assert [m for m in outbox() if m["Subject"].startswith("We need more time")]


def test_a_gdpr_extension_from_the_page(client: FlaskClient, key: ApiKey, staff: None) -> None:
    req = make_request(key, "gdpr")
    first = req.due_on
    sign_in(client, OFFICER)
    code, page = post_clock(client, req, "extend", reason="Ten systems to search")
    assert code == 302
    assert f"extended from {first.isoformat()}" in page
    db.session.refresh(req)
    assert (req.first_due_on, req.extended_due_on) == (first, req.due_on)
    assert req.due_on > first


def test_refusals_come_back_as_flash_messages(
    client: FlaskClient, key: ApiKey, staff: None
) -> None:
    ccpa = make_request(key, "ccpa")
    gdpr = make_request(key, "gdpr")
    sign_in(client, OFFICER)

    code, page = post_clock(client, ccpa, "pause", reason="waiting for ID")
    assert code == 302
    assert re.search(r'<p class="notice problem" role="alert">[^<]*has no pause', page)
    db.session.refresh(ccpa)
    assert ccpa.paused_since is None
    assert clock_events(ccpa) == []

    for action in ("pause", "extend"):
        code, page = post_clock(client, gdpr, action, reason="")
        assert code == 302
        assert re.search(r'<p class="notice problem" role="alert">Give the reason\.</p>', page)
        code, page = post_clock(client, gdpr, action)  # no field at all
        assert "Give the reason." in page
    db.session.refresh(gdpr)
    assert (gdpr.paused_since, gdpr.extended_due_on) == (None, None)
    assert clock_events(gdpr) == []


def test_an_auditor_may_look_but_not_touch_the_clock(
    client: FlaskClient, key: ApiKey, staff: None
) -> None:
    req = make_request(key, "uk_gdpr")
    sign_in(client, AUDITOR)
    page = client.get(f"/staff/requests/{req.reference}").get_data(as_text=True)
    assert "Pause the clock" not in page
    for action, data in (
        ("pause", {"reason": "waiting for ID"}),
        ("extend", {"reason": "need time"}),
        ("resume", {}),
    ):
        code, _ = post_clock(client, req, action, **data)
        assert code == 403
    # Even with a pause in place, an auditor cannot resume it.
    clock.pause(req, reason="waiting for ID", actor="user:1")
    code, _ = post_clock(client, req, "resume")
    assert code == 403
    db.session.refresh(req)
    assert req.paused_since is not None
    assert req.extended_due_on is None
    assert [e.action for e in clock_events(req)] == ["clock_paused"]


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient, key: ApiKey) -> None:
    req = make_request(key, "uk_gdpr")
    token = csrf_token(client, "/staff/login")
    for action in ("pause", "resume", "extend"):
        resp = client.post(
            f"/staff/requests/{req.reference}/{action}",
            data={"csrf_token": token, "reason": "waiting for ID"},
        )
        assert resp.status_code == 302
        assert "/staff/login" in resp.headers["Location"]
    resp = client.get(f"/staff/requests/{req.reference}")
    assert resp.status_code == 302
    assert "/staff/login" in resp.headers["Location"]
    db.session.refresh(req)
    assert clock_events(req) == []


# -- the API and the queue ---------------------------------------------------------------


def test_the_api_shows_overdue_pause_and_extension(
    client: FlaskClient, key: ApiKey, api_key: str
) -> None:
    fresh = make_request(key, "gdpr")
    late = make_request(key, "gdpr")
    paused = make_request(key, "uk_gdpr")
    extended = make_request(key, "gdpr")
    today = reminders.today_here()
    late.due_on = today - timedelta(days=1)
    db.session.commit()
    assert late.status in {RequestStatus.IN_PROGRESS, RequestStatus.COMPILING}
    clock.pause(paused, reason="waiting for ID", actor="user:1")
    first = extended.due_on
    clock.extend(extended, reason="need time", actor="user:1")

    def get(req: Request) -> dict:
        resp = client.get(f"/api/v1/requests/{req.reference}", headers=api_headers(api_key))
        assert resp.status_code == 200
        return resp.json

    body = get(fresh)
    assert body["overdue"] is False
    assert (body["paused_since"], body["extended_due_at"]) == (None, None)
    assert body["first_due_at"] == body["due_at"] == fresh.due_on.isoformat()

    assert get(late)["overdue"] is True

    body = get(paused)
    assert body["paused_since"] == today.isoformat()
    assert body["overdue"] is False

    body = get(extended)
    assert body["first_due_at"] == first.isoformat()
    assert body["extended_due_at"] == body["due_at"] == extended.extended_due_on.isoformat()
    assert body["due_at"] > body["first_due_at"]
    assert "Extended on" in body["due_basis"]


def test_the_overdue_filter_lists_only_overdue_requests(
    client: FlaskClient, key: ApiKey, staff: None
) -> None:
    on_time = make_request(key, "gdpr")
    late = make_request(key, "gdpr")
    closed_late = make_request(key, "gdpr")
    today = reminders.today_here()
    late.due_on = today - timedelta(days=2)
    closed_late.due_on = today - timedelta(days=2)
    closed_late.status = RequestStatus.COMPLETED
    db.session.commit()
    sign_in(client, OFFICER)

    html = client.get("/staff/queue?overdue=1").get_data(as_text=True)
    table = html[html.index('<table class="queue stack">') :]
    assert sorted(set(re.findall(r"DSAR-\d{4}-\d{6}", table))) == [late.reference]
    row = re.search(r'<tr class="overdue">.*?</tr>', table, re.S)
    assert row is not None
    assert late.reference in row.group(0)
    assert '<span class="badge overdue">overdue</span>' in row.group(0)

    everything = client.get("/staff/queue?status=all").get_data(as_text=True)
    for req in (on_time, late, closed_late):
        assert req.reference in everything
    assert everything.count('<span class="badge overdue">overdue</span>') == 1
