"""Refusals and error pages in the person's language: a service's refusal keeps its English
text (`str(exc)`, `exc.message`: the API, logs and staff screens) and gives the portal the
same message in the page's language (`exc.translated()`); the error page speaks the person's
language on their pages, including a 404 no blueprint answers, and English on the company's."""

from __future__ import annotations

import io
from datetime import date, datetime

import flask_babel
import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from dsar import inputs, transfer_guard
from dsar.config import ROOT
from dsar.exceptions import (
    Citation,
    CodeRejected,
    DeliveryExpired,
    IntakeRefused,
    LinkInvalid,
    Term,
)
from dsar.i18n import N_
from dsar.services import correcting, submissions
from tests.conftest import csrf_token
from tests.test_i18n import read

KEEP = N_("Keep this under %(limit)s characters.")  # translated in every shipped catalogue
KEEP_DE = "Dieses Feld darf höchstens 5.000 Zeichen lang sein."
APPEALED = N_(
    "You appealed this decision on %(day)s (reference %(reference)s); follow it "
    "with the link in our email."
)


# -- the English text is what it was ----------------------------------------------------------


def test_a_refusal_keeps_its_english_text_and_its_field(app: Flask) -> None:
    exc = IntakeRefused(KEEP, limit=5000, field="details")
    assert str(exc) == exc.message == "Keep this under 5,000 characters."
    assert exc.field == "details" and exc.template == KEEP and exc.params == {"limit": 5000}
    appealed = IntakeRefused(
        APPEALED, day=datetime(2026, 3, 9, 14, 5), reference="DSAR-2026-000007", field="grounds"
    )
    assert str(appealed) == (
        "You appealed this decision on 9 March 2026 (reference DSAR-2026-000007); follow it "
        "with the link in our email."
    )
    assert str(LinkInvalid("This link has been used or has expired.")) == (
        "This link has been used or has expired."
    )
    assert str(DeliveryExpired()) == ""  # a message is optional, as before


def test_the_services_raise_the_same_english_as_before(app: Flask) -> None:
    with pytest.raises(IntakeRefused) as refused:
        submissions.check_allowed("qc_law25", "deletion")
    assert str(refused.value) == "Québec (Law 25) gives no right to “delete my data”."
    with pytest.raises(IntakeRefused) as refused:
        submissions.check_allowed("gdpr", "nonsense")
    assert str(refused.value) == "Unknown kind of request 'nonsense'."
    with pytest.raises(IntakeRefused) as refused:
        correcting.parse({"changes": {"phone": "12"}})
    assert refused.value.message == inputs.PHONE_MESSAGE
    assert refused.value.field == "correction-phone"
    with pytest.raises(IntakeRefused) as refused:
        correcting.parse({"other": "x" * 5000})
    assert refused.value.message == "Keep this under 2,000 characters."
    with pytest.raises(transfer_guard.Refused) as address:
        transfer_guard.parse("https://" + "a" * 2000)
    assert address.value.message == "Keep the address under 2,000 characters."
    wrapped = IntakeRefused.like(address.value, field="transfer_url")
    assert str(wrapped) == "Keep the address under 2,000 characters."
    assert wrapped.field == "transfer_url"


def test_terms_and_citations_read_in_english_as_before(app: Flask) -> None:
    exc = IntakeRefused(
        N_("Under %(law)s, %(right)s (%(citation)s)."),
        law=Term("GDPR (EU/EEA)"),
        right=Term("Delete my data", lower=True),
        citation=Citation("Civ. Code 1798.105 (right to delete)", "Civ. Code 1798.105"),
    )
    assert str(exc) == "Under GDPR (EU/EEA), delete my data (Civ. Code 1798.105 (right to delete))."
    with app.test_request_context():
        assert exc.translated() == str(exc)  # English pages read what they read before


def test_input_refusals_keep_their_english_text() -> None:
    with pytest.raises(inputs.InputRefused) as refused:
        inputs.clean("a\x00b")
    assert refused.value.message == inputs.CONTROL and refused.value.status == 422
    with pytest.raises(inputs.InputRefused) as refused:
        inputs.clean("   ", required="Give your name.")
    assert str(refused.value) == "Give your name."


# -- translated() is gettext in the current language ------------------------------------------


def test_translated_goes_through_gettext(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def gettext(text: str, **values: object) -> str:
        seen.append(text)
        return f"«{text}»"

    monkeypatch.setattr(flask_babel, "gettext", gettext)
    exc = IntakeRefused(
        N_("%(law)s gives no right to “%(right)s”."),
        law=Term("GDPR (EU/EEA)"),
        right=Term("Delete my data", lower=True),
    )
    with app.test_request_context():
        assert exc.translated() == "««GDPR (EU/EEA)» gives no right to “«delete my data»”.»"
    assert seen[0] == "%(law)s gives no right to “%(right)s”."
    assert set(seen[1:]) == {"GDPR (EU/EEA)", "Delete my data"}
    assert str(exc) == "GDPR (EU/EEA) gives no right to “delete my data”."  # English untouched


def test_translated_speaks_german_where_the_catalogue_does(app: Flask) -> None:
    exc = IntakeRefused(KEEP, limit=5000, field="details")
    with app.test_request_context(), force_locale("de"):
        assert exc.translated() == KEEP_DE  # the number as German writes it, too
        assert str(exc) == "Keep this under 5,000 characters."
        email = IntakeRefused(N_("Enter an email address like name@example.com."))
        assert email.translated().startswith("Geben Sie eine E-Mail-Adresse")
        wrapped = IntakeRefused.like(inputs.InputRefused(KEEP, limit=5000), field="grounds")
        assert wrapped.translated() == KEEP_DE


def test_dates_and_citations_follow_the_page_language(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flask_babel, "gettext", lambda text, **values: text)
    appealed = IntakeRefused(APPEALED, day=date(2026, 3, 9), reference="DSAR-2026-000007")
    cited = IntakeRefused(
        N_("Attach the person's signed permission for you to act for them (%(citation)s)."),
        citation=Citation("Civ. Code 1798.135 (right to opt out)", "Civ. Code 1798.135"),
    )
    with app.test_request_context(), force_locale("de"):
        assert "9. März 2026" in appealed.translated()
        assert cited.translated().endswith("(Civ. Code 1798.135).")
    assert "9 March 2026" in str(appealed)


def test_a_broken_translation_falls_back_rather_than_failing(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flask_babel, "gettext", lambda text, **values: "Nur %(grenze)s.")
    with app.test_request_context():
        assert IntakeRefused(KEEP, limit=5).translated() == "Keep this under 5 characters."


def test_a_count_keeps_one_text_per_english_form() -> None:
    one = CodeRejected(N_("That code is not right. You have %(num)s more try."), num=1)
    assert str(one) == "That code is not right. You have 1 more try."


# -- the portal shows the person's language ---------------------------------------------------


def test_a_service_refusal_on_the_request_form_is_in_the_pages_language(
    app: Flask, client: FlaskClient
) -> None:
    """The form takes the agent's email as text; the agents service refuses it."""
    data = {
        "csrf_token": csrf_token(client, "/request"),
        "kind": "access",
        "regime": "ccpa",
        "name": "Jane Doe",
        "email": "jane.doe@example.com",
        "on_behalf": "y",
        "agent_name": "Ada Agent",
        "agent_email": "not an address",
        "agent_permission": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "signed.pdf"),
    }
    resp = client.post(
        "/request",
        data=data,
        content_type="multipart/form-data",
        headers={"Accept-Language": "de-DE,de;q=0.9"},
    )
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert read(page).lang == "de"
    assert "Geben Sie eine E-Mail-Adresse im Format name@example.com ein." in page
    assert "Enter an email address like name@example.com." not in page


def test_a_form_input_refusal_is_in_the_pages_language(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dsar.forms refuses control characters before any validator: via gettext."""
    data = {
        "csrf_token": csrf_token(client, "/request"),
        "kind": "access",
        "regime": "gdpr",
        "name": "Jane\x01Doe",
        "email": "jane.doe@example.com",
    }
    asked: list[str] = []
    real = flask_babel.gettext

    def gettext(text: str, **values: object) -> str:
        asked.append(text)
        return real(text, **values)

    monkeypatch.setattr("dsar.forms.gettext", gettext)
    resp = client.post("/request", data=data, headers={"Accept-Language": "de"})
    assert resp.status_code == 422
    assert inputs.CONTROL in asked


def test_an_unknown_tracking_link_speaks_german(client: FlaskClient) -> None:
    resp = client.get("/appeal/nonsense", headers={"Accept-Language": "de"})
    assert resp.status_code == 404
    assert read(resp.get_data(as_text=True)).lang == "de"
    # The service's message, not Werkzeug's English description.
    assert "The requested URL was not found" not in resp.get_data(as_text=True)


# -- the error page -----------------------------------------------------------------------------


def test_a_404_no_blueprint_answers_speaks_the_persons_language(client: FlaskClient) -> None:
    resp = client.get("/nonexistent", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert resp.status_code == 404
    page = resp.get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "The requested URL was not found" not in page  # our words, not Werkzeug's
    client.set_cookie("dsar_lang", "pt_BR")
    chosen = client.get("/nonexistent", headers={"Accept-Language": "de"})
    assert '<html lang="pt-BR">' in chosen.get_data(as_text=True)


@pytest.mark.parametrize(
    "path", ["/staff/nonexistent", "/audit/nonexistent", "/owner/x", "/static/nonexistent.css"]
)
def test_the_companys_paths_stay_english(client: FlaskClient, path: str) -> None:
    resp = client.get(path, headers={"Accept-Language": "de"})
    assert resp.status_code == 404
    assert '<html lang="en">' in resp.get_data(as_text=True)


def test_the_api_keeps_its_english_json_errors(client: FlaskClient) -> None:
    resp = client.get("/api/v1/nonexistent", headers={"Accept-Language": "de"})
    assert resp.status_code == 404
    assert resp.json["status"] == "Not Found"


def test_a_405_keeps_its_allow_header_and_speaks_the_persons_language(
    client: FlaskClient,
) -> None:
    resp = client.delete("/request", headers={"Accept-Language": "de"})
    assert resp.status_code == 405
    assert "GET" in resp.headers["Allow"]
    assert '<html lang="de">' in resp.get_data(as_text=True)


def test_the_english_error_page_names_the_status_and_what_to_do(client: FlaskClient) -> None:
    page = client.get("/nonexistent", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Page not found" in page
    assert "start again from our home page" in page


def test_the_rate_limit_page_is_translated_and_keeps_retry_after(client: FlaskClient) -> None:
    german = {"Accept-Language": "de"}
    data = {"csrf_token": csrf_token(client, "/request")}
    codes = [client.post("/gpc", data=data, headers=german).status_code for _ in range(21)]
    assert codes[:20] == [400] * 20 and codes[20] == 429  # 400: no GPC signal
    resp = client.post("/gpc", data=data, headers=german)
    assert resp.status_code == 429
    assert "Retry-After" in resp.headers
    page = resp.get_data(as_text=True)
    assert '<html lang="de">' in page
    assert "per 1 hour" not in page  # the limit's own English text is not shown


# -- extraction ---------------------------------------------------------------------------------


def test_the_catalogues_template_holds_the_refusals_and_the_error_page() -> None:
    # test_i18n checks that messages.pot is what extraction finds now.
    with (ROOT / "translations" / "messages.pot").open("rb") as f:
        found = {m.id for m in read_po(f) if m.id}
    for msgid in (
        APPEALED,
        inputs.PHONE_MESSAGE,
        inputs.CONTROL,
        "%(law)s gives no right to “%(right)s”.",
        "That code is not right. You have %(num)s more tries.",
        "This download link has expired; contact us quoting %(reference)s.",
        "%(host)s is not on the public internet (it points to a private, local or reserved "
        "address); give the address the company gave you for receiving data.",
        "Page not found",
        "Too many attempts",
        "Back to the start",
    ):
        assert msgid in found, msgid
