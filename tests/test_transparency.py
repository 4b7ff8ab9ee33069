"""The transparency page says what the registry says about every enabled system, in the
reader's language where the registry gives it, and keeps every earlier version as it was."""

from __future__ import annotations

import html
import re
import tomllib

from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar.config import ROOT
from dsar.extensions import db
from dsar.models import DataSystem, NoticeVersion
from dsar.services import systems
from tests.test_i18n import BROWSERS, read, translated

DEMO = {
    s["key"]: s
    for s in tomllib.loads((ROOT / "dsar/demo/systems.toml").read_text("utf-8"))["system"]
}


def text_of(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def section(page: str, key: str) -> str:
    found = re.search(
        rf'<section class="card system-notice" id="system-{key}">.*?</section>', page, re.S
    )
    return text_of(found.group(0)) if found else ""


def retention(system: dict, law: str = "default") -> str:
    value = system["disclosure"]["retention"]
    return value if isinstance(value, str) else value.get(law) or value["default"]


def test_every_enabled_system_is_listed_with_its_purposes_and_retention(
    client: FlaskClient, demo_systems: list[str]
) -> None:
    home = client.get("/").get_data(as_text=True)
    assert 'href="/privacy"' in home
    resp = client.get("/privacy")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    enabled = db.session.scalars(select(DataSystem).where(DataSystem.enabled.is_(True))).all()
    assert sorted(s.key for s in enabled) == sorted(demo_systems)
    for system in enabled:
        shown = section(page, system.key)
        assert shown, system.key
        assert system.name in shown
        for purpose in system.disclosure["purposes"]:
            assert purpose in shown, (system.key, purpose)
        assert " ".join(retention(DEMO[system.key]).split()) in shown
    assert section(page, "archive") == ""  # disabled: not listed
    assert "Version 1, published on" in text_of(page)


def test_a_registry_change_publishes_a_new_version_and_the_old_one_reads_as_it_was(
    client: FlaskClient, demo_systems: list[str]
) -> None:
    assert client.get("/privacy").status_code == 200
    assert client.get("/privacy").status_code == 200  # nothing changed: no new version
    assert db.session.scalar(select(func.count(NoticeVersion.id))) == 1
    crm = systems.get("crm")
    assert crm is not None
    systems.set_enabled(crm, False, actor="cli")
    page = client.get("/privacy").get_data(as_text=True)
    assert "Version 2, published on" in text_of(page)
    assert section(page, "crm") == ""
    old = client.get("/privacy/versions/1").get_data(as_text=True)
    assert "CRM (contacts)" in section(old, "crm")
    assert "This is version 1 of this page" in text_of(old)
    listing = text_of(client.get("/privacy/versions").get_data(as_text=True))
    assert "Version 2 (current)" in listing and "Version 1" in listing
    versions = db.session.scalars(select(NoticeVersion).order_by(NoticeVersion.number)).all()
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].sha256 != versions[1].sha256
    assert "crm" in [s["key"] for s in versions[0].content["systems"]]  # as it was


def test_the_page_speaks_the_readers_language_with_the_registrys_words(
    client: FlaskClient, demo_systems: list[str]
) -> None:
    page = client.get("/privacy", headers={"Accept-Language": BROWSERS["pt_BR"]})
    html_text = page.get_data(as_text=True)
    assert read(html_text).lang == "pt-BR"
    crm = DEMO["crm"]
    shown = section(html_text, "crm")
    assert crm["labels"]["languages"]["pt_BR"]["name"] in shown
    for purpose in crm["disclosure"]["languages"]["pt_BR"]["purposes"]:
        assert purpose in shown
    assert translated("pt_BR", "How long we keep it") in shown
    assert "How long we keep it" not in shown


def test_a_version_that_does_not_exist_is_a_clear_404(client: FlaskClient) -> None:
    client.get("/privacy")
    for path in ("/privacy/versions/999", "/privacy/versions/0"):
        resp = client.get(path)
        assert resp.status_code == 404
        assert "There is no version" in resp.get_data(as_text=True)
    assert client.get("/privacy/versions/one").status_code == 404
    assert client.get("/privacy/versions/-1").status_code == 404


def test_with_no_system_the_page_says_so(client: FlaskClient) -> None:
    page = text_of(client.get("/privacy").get_data(as_text=True))
    assert "We keep no personal data in any system at the moment." in page
