"""Safe actions on the request's page: only the moves the transition table allows are
offered; approving an erasure, denying and cancelling first show what they will do; a
refused decision keeps what the officer typed."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from dsar.extensions import db
from dsar.models import Event, Request, RequestStatus
from tests.conftest import csrf_token
from tests.test_manual import archive, owner_link, report, submit


def page_of(client: FlaskClient, req: Request) -> str:
    return client.get(f"/staff/requests/{req.reference}").get_data(as_text=True)


def post(client: FlaskClient, req: Request, action: str, **data: str):
    path = f"/staff/requests/{req.reference}"
    return client.post(f"{path}/{action}", data={"csrf_token": csrf_token(client, path), **data})


def status_of(req: Request) -> RequestStatus:
    db.session.expire_all()
    return db.session.get(Request, req.id).status


def actions() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(Event.action).order_by(Event.id)))


def awaiting_approval(client: FlaskClient, outbox: Callable[[], list]) -> Request:
    """A deletion whose dry run found 3 records in the paper archive."""
    archive()
    req = submit("deletion")
    assert report(client, owner_link(outbox), outcome="found", count="3")[0] == 200
    assert status_of(req) is RequestStatus.AWAITING_APPROVAL
    return req


def test_only_the_moves_the_table_allows_are_offered(
    client: FlaskClient, outbox: Callable[[], list], login: Callable[[str], str]
) -> None:
    archive()
    running = submit("access")  # in progress: the owner's search is open
    login("officer")
    page = page_of(client, running)
    assert 'id="deny-form"' not in page and "Close as duplicate" not in page
    assert 'id="cancel-form"' in page  # a request under way can still be cancelled
    # A crafted denial is refused in words, and nothing changes.
    resp = post(client, running, "deny", reason="too_many_requests", text="Third this year.")
    assert resp.status_code == 422
    assert "it cannot be denied now" in resp.get_data(as_text=True)
    assert status_of(running) is RequestStatus.IN_PROGRESS


def test_approving_an_erasure_shows_what_it_will_erase_first(
    client: FlaskClient, outbox: Callable[[], list], login: Callable[[str], str]
) -> None:
    req = awaiting_approval(client, outbox)
    login("officer")
    assert 'id="deny-form"' in page_of(client, req)
    resp = post(client, req, "approve")
    assert resp.status_code == 200
    summary = resp.get_data(as_text=True)
    assert "Paper archive: its owner is emailed to erase 3 records." in summary
    assert "Erased records cannot be brought back." in summary
    assert f'href="/staff/requests/{req.reference}" id="go-back"' in summary
    assert status_of(req) is RequestStatus.AWAITING_APPROVAL  # nothing happened yet
    assert "approved" not in actions()
    resp = post(client, req, "approve", confirmed="yes")
    assert resp.status_code == 302
    assert status_of(req) is RequestStatus.IN_PROGRESS
    assert actions().count("approved") == 1


def test_a_denial_is_confirmed_with_its_reason_and_a_refusal_keeps_the_typing(
    client: FlaskClient, outbox: Callable[[], list], login: Callable[[str], str]
) -> None:
    req = awaiting_approval(client, outbox)
    login("officer")
    refused = post(client, req, "deny", reason="other", text="")
    assert refused.status_code == 422
    assert "Write the explanation." in refused.get_data(as_text=True)
    assert '<option value="other" selected>' in refused.get_data(as_text=True)
    long_text = "x" * 5001
    refused = post(client, req, "deny", reason="other", text=long_text)
    assert refused.status_code == 422
    assert long_text in refused.get_data(as_text=True)  # kept in the textarea
    summary = post(client, req, "deny", reason="manifestly_unfounded", text="Sent daily.")
    html = summary.get_data(as_text=True)
    assert summary.status_code == 200
    assert "The request closes as denied:" in html and "Sent daily." in html
    assert 'name="text" value="Sent daily."' in html and 'name="confirmed" value="yes"' in html
    assert status_of(req) is RequestStatus.AWAITING_APPROVAL
    resp = post(
        client, req, "deny", reason="manifestly_unfounded", text="Sent daily.", confirmed="yes"
    )
    assert resp.status_code == 302
    db.session.expire_all()
    done = db.session.get(Request, req.id)
    assert (done.status, done.denial_text) == (RequestStatus.DENIED, "Sent daily.")


def test_a_cancellation_is_confirmed_and_an_empty_one_refused(
    client: FlaskClient, outbox: Callable[[], list], login: Callable[[str], str]
) -> None:
    archive()
    req = submit("access")
    login("officer")
    empty = post(client, req, "cancel", reason="  ")
    assert empty.status_code == 422
    assert "Give the reason." in empty.get_data(as_text=True)
    summary = post(client, req, "cancel", reason="The person withdrew it by phone.")
    html = summary.get_data(as_text=True)
    assert "The request closes as cancelled" in html
    assert re.search(r"1 system task not yet run (is|are) skipped", html)
    assert status_of(req) is RequestStatus.IN_PROGRESS
    post(client, req, "cancel", reason="The person withdrew it by phone.", confirmed="yes")
    assert status_of(req) is RequestStatus.CANCELLED
    assert [m for m in outbox() if "is closed" in str(m["Subject"])]
