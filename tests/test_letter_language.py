"""Letters speak the request's language: a pt-BR LGPD access request made on the portal gets
its PDF answer in Portuguese, with the registry's own words for its systems in Portuguese;
staff see the request's language and preview its letter in any language; the API takes and
shows the language."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dsar.config import ROOT
from dsar.exceptions import SystemInvalid
from dsar.extensions import db
from dsar.models import Event, Request, RequestStatus
from dsar.services.system_checks import check_disclosure, check_labels
from tests.conftest import api_headers, csrf_token, download_answer, link_in, pdf_text
from tests.test_i18n import BROWSERS, translated

DEMO = tomllib.loads((ROOT / "dsar" / "demo" / "systems.toml").read_text(encoding="utf-8"))


def flat(text: str) -> str:
    return " ".join(text.split())


def submit(client: FlaskClient, language: str, regime: str, **person: str) -> str:
    """Make an access request on the portal in a browser of `language`; confirm it by email
    as the person does; return the tracking page's path."""
    headers = {"Accept-Language": BROWSERS[language]}
    data = {"csrf_token": csrf_token(client, "/request"), "kind": "access", "regime": regime}
    resp = client.post("/request", headers=headers, data={**data, **person})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp.headers["Location"]


def test_a_pt_br_lgpd_access_answer_is_a_portuguese_letter(
    app: Flask,
    client: FlaskClient,
    demo_systems: list[str],
    helpdesk_url: str,
    outbox: Callable[[], list],
    run_workers: Callable[..., None],
) -> None:
    submit(client, "pt_BR", "lgpd", name="Maria Silva", email="maria@example.com")
    link = link_in(outbox()[-1], r"http://dsar\.test/r/\S+/verify/\S+")
    path = link.removeprefix("http://dsar.test")
    assert client.post(path, data={"csrf_token": csrf_token(client, path)}).status_code == 302
    tracking = path.split("/verify/")[0]
    req = db.session.scalars(select(Request)).one()
    assert req.language == "pt_BR"
    reference = req.reference

    def answered() -> bool:
        found = db.session.scalar(select(Request).where(Request.reference == reference))
        return found.status is RequestStatus.COMPLETED

    run_workers(answered)
    text = pdf_text(download_answer(client, tracking, outbox))
    for msgid in (
        "Full declaration of your personal data",
        "What the law asks us to tell you",
        "Origin of the data",
        "Absence of records",
        "Summary: what each system holds",
        "The attached files",
        "Yours sincerely,",
    ):
        assert flat(translated("pt_BR", msgid)) in text, msgid
        assert msgid not in text
    assert flat(translated("pt_BR", "Dear %(name)s,", name="Maria Silva")) in text
    # The registry's own words for its systems, in Portuguese where it gives them.
    crm = next(s for s in DEMO["system"] if s["key"] == "crm")
    assert crm["labels"]["languages"]["pt_BR"]["name"] in text
    assert crm["name"] not in text
    # Dates as Portuguese writes them.
    assert re.search(r"\d{1,2} de [a-zç]+ de 20\d\d", text)


def test_staff_see_the_language_and_preview_the_letter_in_any(
    app: Flask, client: FlaskClient, demo_systems: list[str], login: Callable[[str], str]
) -> None:
    submit(client, "fr_CA", "qc_law25", name="Émilie Roy", email="emilie@example.com")
    reference = db.session.scalars(select(Request)).one().reference
    login("officer")
    page = client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    language = re.search(r'id="request-language">(.*?)</dd>', page, re.S)
    assert language and "Français (Canada)" in language.group(1)
    assert "French (Canada)" in language.group(1)

    resp = client.get(f"/staff/requests/{reference}/letter-preview")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert f"{reference}-preview-fr-CA.pdf" in resp.headers["Content-Disposition"]
    text = pdf_text(resp.data)
    assert "Preview for staff, not sent" in text
    assert flat(translated("fr_CA", "What the law asks us to tell you")) in text

    english = pdf_text(client.get(f"/staff/requests/{reference}/letter-preview?lang=en").data)
    assert "What the law asks us to tell you" in english

    bad = client.get(f"/staff/requests/{reference}/letter-preview?lang=xx")
    assert bad.status_code == 400
    assert "Choose one of the languages offered" in bad.get_data(as_text=True)
    db.session.remove()
    req = db.session.scalars(select(Request)).one()
    assert req.documents == []  # a preview stores nothing
    previews = db.session.scalars(select(Event).where(Event.action == "letter_previewed")).all()
    assert [e.detail["language"] for e in previews] == ["fr_CA", "en"]


def test_the_api_takes_and_shows_the_language(
    app: Flask, client: FlaskClient, demo_systems: list[str], api_key: str
) -> None:
    body = {
        "kind": "access",
        "regime": "lgpd",
        "name": "João Souza",
        "email": "joao@example.com",
        "language": "pt-BR",
    }
    created = client.post("/api/v1/requests", json=body, headers=api_headers(api_key))
    assert created.status_code == 201, created.get_data(as_text=True)
    reference = created.json["reference"]
    assert db.session.scalars(select(Request)).one().language == "pt_BR"
    shown = client.get(f"/api/v1/requests/{reference}", headers=api_headers(api_key)).json
    assert shown["language"] == "pt-BR"

    refused = client.post(
        "/api/v1/requests", json={**body, "language": "pt_PT"}, headers=api_headers(api_key)
    )
    assert refused.status_code == 422
    assert "language" in refused.get_data(as_text=True)
    assert "pt-BR" in refused.get_data(as_text=True)
    assert db.session.scalars(select(Request)).all()[-1].reference == reference  # nothing added

    without = {k: v for k, v in body.items() if k != "language"} | {"email": "ana@example.com"}
    plain = client.post("/api/v1/requests", json=without, headers=api_headers(api_key))
    assert plain.status_code == 201
    shown = client.get(f"/api/v1/requests/{plain.json['reference']}", headers=api_headers(api_key))
    assert shown.json["language"] == "en"


def test_the_registry_takes_its_words_in_other_languages_and_refuses_the_rest() -> None:
    labels = check_labels(
        {
            "erase": "Deleted.",
            "places": {"contacts": "Your contact record"},
            "languages": {
                "pt_BR": {"name": "CRM (contatos)", "places": {"contacts": "Seu cadastro"}},
                "fr_CA": {"erase": "Supprimé."},
            },
        }
    )
    assert labels["languages"]["pt_BR"]["name"] == "CRM (contatos)"
    assert labels["languages"]["fr_CA"] == {"erase": "Supprimé."}
    disclosure = check_disclosure(
        {"purposes": ["Sales"], "languages": {"de": {"purposes": ["Vertrieb"]}}}
    )
    assert disclosure["languages"]["de"]["purposes"] == ["Vertrieb"]
    for bad, says in (
        ({"languages": {"pt": {"name": "x"}}}, "unknown language 'pt'"),
        ({"languages": {"en": {"name": "x"}}}, "unknown language 'en'"),
        ({"languages": ["pt_BR"]}, "'languages' must be a table per language"),
        ({"languages": {"de": {"languages": {}}}}, "unknown key 'languages'"),
        ({"name": "CRM"}, "unknown key 'name'"),  # the English name is the system's own
    ):
        with pytest.raises(SystemInvalid) as caught:
            check_labels(bad)
        assert says in str(caught.value)
    with pytest.raises(SystemInvalid, match="unknown language 'xx'"):
        check_disclosure({"languages": {"xx": {}}})
