"""The registry form (issue 16, item 7): what the access letter says about a system as real
fields, identity fields checked against what the connectors know, and spreadsheets kept in
DSAR_SPREADSHEET_DIR, checked one way for the form, the TOML file and the CLI."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from dsar.config import ConfigError, from_env
from dsar.documents import answer
from dsar.exceptions import ConfigFileError, SystemInvalid
from dsar.extensions import db
from dsar.models import (
    DataSystem,
    Event,
    Request,
    RequestKind,
    RequestStatus,
    Task,
    TaskAction,
    TaskStatus,
)
from dsar.services import registry, systems
from tests.conftest import csrf_token, pdf_text

NEW = "/staff/systems/new"
GDPR_BASIS = "Contract (GDPR Art. 6(1)(b))"
LGPD_BASIS = "Execução de contrato (LGPD Art. 7 V)"
TYPED = {
    "purposes": "Running the loyalty scheme\n\n  Sending points statements  \n",
    "categories": "Identifiers (name, email)\nPoints balance",
    "recipients": "Card printer (processor)",
    "third_countries": "United States (EU Standard Contractual Clauses)",
    "retention": "Until the card is cancelled,\r\n then one year",
    "legal_basis": "Our contract with you",
    "legal_basis__gdpr": GDPR_BASIS,
    "legal_basis__lgpd": LGPD_BASIS,
    "source": "Given by the person when joining",
    "automated_decisions": "None",
    "ccpa_categories": "Identifiers\nCommercial information",
    "withheld": "card_number",
}
STORED = {
    "purposes": ["Running the loyalty scheme", "Sending points statements"],
    "categories": ["Identifiers (name, email)", "Points balance"],
    "recipients": ["Card printer (processor)"],
    "third_countries": ["United States (EU Standard Contractual Clauses)"],
    "retention": "Until the card is cancelled, then one year",
    "legal_basis": {"gdpr": GDPR_BASIS, "lgpd": LGPD_BASIS, "default": "Our contract with you"},
    "source": "Given by the person when joining",
    "automated_decisions": "None",
    "ccpa_categories": ["Identifiers", "Commercial information"],
    "withheld": ["card_number"],
}


class Fields(HTMLParser):
    """The values a form sends as shown: inputs, checked boxes, textareas, selected options."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and "name" in a:
            if a.get("type") != "checkbox" or "checked" in a:
                self.values[a["name"]] = a.get("value", "y" if a.get("type") == "checkbox" else "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a["value"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data


def shown(page: str) -> dict[str, str]:
    """The main form's fields, as a browser would send them back."""
    start = page.index('<form method="post" novalidate>')
    form = page[start : page.index("</form>", start)]
    parser = Fields()
    parser.feed(form)
    return {k: v.removeprefix("\r\n").removeprefix("\n") for k, v in parser.values.items()}


def get(client: FlaskClient, url: str) -> str:
    resp = client.get(url)
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def post(client: FlaskClient, url: str, data: dict[str, str]) -> tuple[int, str]:
    resp = client.post(url, data=data)
    if resp.status_code == 302:
        return 302, get(client, resp.headers["Location"])
    return resp.status_code, resp.get_data(as_text=True)


def new_system(client: FlaskClient, **fields: str) -> dict[str, str]:
    data = {
        "csrf_token": csrf_token(client, NEW),
        "key": "loyalty",
        "name": "Loyalty cards",
        "kind": "manual",
        "owner": "Marketing",
        "enabled": "y",
        "config": "{}",
    }
    return {**data, **fields}


def field_error(page: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="{name}-error" role="alert">(.*?)</p>', page, re.S)
    assert found, f"no error on {name}"
    return html.unescape(found.group(1))


def textarea(page: str, name: str) -> str:
    return shown(page)[name]


def stored(key: str) -> DataSystem | None:
    db.session.expire_all()
    return db.session.scalar(select(DataSystem).where(DataSystem.key == key))


def count() -> int:
    return db.session.scalar(select(func.count()).select_from(DataSystem)) or 0


def access_letter(system: DataSystem, regime: str) -> str:
    """The access answer's text for a request under `regime` that found one card there."""
    now = datetime.now(UTC)
    req = Request(
        tracking_hash=f"t-{regime}-{now.timestamp()}",
        kind=RequestKind.ACCESS,
        regime=regime,
        status=RequestStatus.COMPILING,
        channel="api",
        name="Jane Doe",
        email="jane.doe@example.com",
        received_at=now,
        due_on=(now + timedelta(days=30)).date(),
    )
    db.session.add(req)
    db.session.flush()
    req.reference = f"DSAR-FORM-{req.id:06d}"
    req.tasks.append(
        Task(
            system=system,
            action=TaskAction.LOCATE,
            status=TaskStatus.SUCCEEDED,
            found_count=1,
            result={"records": {"cards": [{"id": 7, "card_number": "4111-0000"}]}, "found": 1},
        )
    )
    db.session.commit()
    files = {f.kind: f.data for f in answer.render_access(req)}
    return pdf_text(files["response"])


# -- the disclosure, as fields -------------------------------------------------------------


def test_a_system_added_with_its_disclosure_is_stored_as_the_letter_reads_it(
    client: FlaskClient, login: Callable[[str], str]
) -> None:
    login("admin")
    page = get(client, NEW)
    assert "Shown in the access answer under “Why we use your data (purposes)”" in page
    assert "“Business or commercial purposes” (CCPA/CPRA)" in page
    assert 'id="legal_basis__lgpd"' in page and "Brazil (LGPD)" in page
    assert '<details class="advanced" open>' in page  # a new system's connection is asked

    code, page = post(client, NEW, new_system(client, **TYPED))
    assert code == 302, page
    assert "Loyalty cards (loyalty) is registered." in page
    loyalty = stored("loyalty")
    assert loyalty is not None and loyalty.disclosure == STORED
    event = db.session.scalars(select(Event).where(Event.action == "system_created")).one()
    assert "disclosure" in event.detail["fields"]

    gdpr = access_letter(loyalty, "gdpr")
    assert "Loyalty cards Running the loyalty scheme; Sending points statements" in gdpr
    assert f"Loyalty cards {GDPR_BASIS}" in gdpr
    assert "outside the EEA/UK: United States (EU Standard Contractual Clauses)" in gdpr
    assert "Until the card is cancelled, then one year" in gdpr
    assert LGPD_BASIS not in gdpr and "4111-0000" not in gdpr
    uk = access_letter(loyalty, "uk_gdpr")  # no UK wording: the default text
    assert "Loyalty cards Our contract with you" in uk and GDPR_BASIS not in uk
    privacy = get(client, "/privacy")
    assert "Brazil (LGPD)" in privacy and html.escape(LGPD_BASIS) in privacy


def test_the_edit_form_shows_the_disclosure_and_changes_only_what_is_changed(
    client: FlaskClient, login: Callable[[str], str], demo_systems: list[str]
) -> None:
    login("admin")
    before = stored("shop")
    assert before is not None
    disclosure = dict(before.disclosure)
    page = get(client, "/staff/systems/shop/edit")
    assert '<details class="advanced">' in page  # collapsed: a name or a purpose is the edit
    values = shown(page)
    assert values["purposes"].splitlines() == disclosure["purposes"]
    assert values["legal_basis"] == disclosure["legal_basis"]["default"]
    assert values["legal_basis__gdpr"] == disclosure["legal_basis"]["gdpr"]
    assert values["withheld"] == "card_last4\npassword_hash"
    assert json.loads(values["disclosure_languages"]) == disclosure["languages"]
    assert "customer_id → customers.id" in page  # what it matches people by
    assert "customer_id (from crm)" in page  # what it may match people by

    values["csrf_token"] = csrf_token(client, "/staff/systems/shop/edit")
    code, page = post(client, "/staff/systems/shop/edit", values)
    assert code == 302, page
    assert "Web shop (customers and orders): nothing changed." in page
    assert stored("shop").disclosure == disclosure  # type: ignore[union-attr]

    values["recipients"] += "\nLoyalty partner"
    values["legal_basis__lgpd"] = ""
    values["retention"] = "Until the account is closed"
    code, page = post(client, "/staff/systems/shop/edit", values)
    assert code == 302, page
    assert "saved (disclosure changed)" in page
    after = stored("shop").disclosure  # type: ignore[union-attr]
    assert after["recipients"] == [*disclosure["recipients"], "Loyalty partner"]
    assert after["retention"] == "Until the account is closed"
    assert "lgpd" not in after["legal_basis"]
    assert after["legal_basis"]["gdpr"] == disclosure["legal_basis"]["gdpr"]
    assert after["languages"] == disclosure["languages"]
    assert after["withheld"] == disclosure["withheld"]


def test_every_demo_system_goes_through_its_edit_form_unchanged(
    client: FlaskClient, login: Callable[[str], str], demo_systems: list[str]
) -> None:
    """Whatever the file said (per-law tables, empty lists, other languages), the form shows
    it all and sends it back as it was."""
    login("admin")
    for key in [*demo_systems, "archive"]:
        before = stored(key)
        assert before is not None
        kept = (before.disclosure, before.labels, before.config)
        url = f"/staff/systems/{key}/edit"
        code, page = post(
            client, url, {**shown(get(client, url)), "csrf_token": csrf_token(client, url)}
        )
        assert code == 302, page
        assert f"{before.name}: nothing changed." in page, key
        after = stored(key)
        assert (after.disclosure, after.labels, after.config) == kept  # type: ignore[union-attr]


# -- bad input: 422, the message on its field, nothing stored, the text kept -----------------

CSV = {"match": {"email": "email"}}


def csv_config(path: str, **more: Any) -> str:
    return json.dumps({"path": path, **CSV, **more})


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"purposes": "Fine\n" + "x" * 501},
            "purposes",
            "Item 2 has 501 characters; at most 500.",
        ),
        (
            {"legal_basis__gdpr": "y" * 600},
            "legal_basis__gdpr",
            "The gdpr text has 600 characters; at most 500.",
        ),
        (
            {"disclosure_languages": '{"fr_CA": {"legal_basis": {"xx": "Contrat"}}}'},
            "disclosure_languages",
            "unknown law 'xx'; use ccpa, default, gdpr, lgpd",
        ),
        (
            {"disclosure_languages": '{"klingon": {"purposes": ["x"]}}'},
            "disclosure_languages",
            "unknown language 'klingon'",
        ),
        (
            {"disclosure_languages": "[1]"},
            "disclosure_languages",
            "The words in other languages must be a JSON object",
        ),
        (
            {
                "kind": "csv",
                "config": json.dumps(
                    {"path": "${DSAR_DEMO_DIR}/x.csv", "match": {"email": "emial"}}
                ),
            },
            "config",
            "CSV system: 'emial' is not an identity field dsar knows; match people by one of"
            " email, phone, name (no registered system exports an identifier yet).",
        ),
        (
            {"kind": "csv", "config": csv_config("/etc/passwd")},
            "config",
            "CSV system: 'path' /etc/passwd leads outside the spreadsheet folder",
        ),
        (
            {"kind": "csv", "config": csv_config("${DSAR_DEMO_DIR}/../instance/dsar.db")},
            "config",
            "leads outside the spreadsheet folder {demo} through .. or a link",
        ),
        (
            {"kind": "csv", "config": csv_config("${DSAR_DEMO_DIR}/escape.csv")},
            "config",
            "CSV system: 'path' ${{DSAR_DEMO_DIR}}/escape.csv leads outside the spreadsheet"
            " folder {demo} through .. or a link",
        ),
        (
            {"kind": "csv", "config": csv_config("events.csv")},
            "config",
            "'path' must be a full path in the spreadsheet folder {demo}",
        ),
        (
            {"kind": "csv", "config": csv_config("${HOME}/events.csv")},
            "config",
            "CSV system: 'path': unknown placeholder 'HOME' in the system's configuration; use"
            " ${{DSAR_DEMO_DIR}}, ${{DSAR_HELPDESK_URL}}, ${{DSAR_SPREADSHEET_DIR}}.",
        ),
    ],
    ids=[
        "item-too-long",
        "law-text-too-long",
        "unknown-law",
        "unknown-language",
        "languages-not-an-object",
        "unknown-identity-field",
        "path-outside",
        "dot-dot",
        "symlink-out",
        "relative-path",
        "unknown-placeholder",
    ],
)
def test_bad_input_is_refused_on_its_field_and_nothing_is_stored(
    client: FlaskClient,
    login: Callable[[str], str],
    demo_dir: Path,
    tmp_path: Path,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    (tmp_path / "outside.csv").write_text("email\njane.doe@example.com\n", encoding="utf-8")
    (demo_dir / "escape.csv").symlink_to(tmp_path / "outside.csv")
    login("admin")
    before = count()
    typed = {**TYPED, **fields}
    code, page = post(client, NEW, new_system(client, **typed))
    assert code == 422, page[-3000:]
    assert "Nothing was saved" in page
    assert message.format(demo=demo_dir) in field_error(page, field)
    assert count() == before and stored("loyalty") is None
    values = shown(page)
    for name, text in typed.items():  # everything typed comes back to be fixed
        if name != "kind":
            assert values[name] == text.replace("\r\n", "\n").strip(), name
    if field in ("config", "disclosure_languages"):
        assert '<details class="advanced" open>' in page


def test_an_edit_that_moves_a_spreadsheet_out_of_the_folder_changes_nothing(
    client: FlaskClient, login: Callable[[str], str], demo_systems: list[str]
) -> None:
    login("admin")
    events = stored("events")
    assert events is not None
    config = dict(events.config)
    values = shown(get(client, "/staff/systems/events/edit"))
    moved = "/srv/other/events.csv"
    values["config"] = values["config"].replace("${DSAR_DEMO_DIR}/events.csv", moved)
    values["csrf_token"] = csrf_token(client, "/staff/systems/events/edit")
    code, page = post(client, "/staff/systems/events/edit", values)
    assert code == 422
    assert "leads outside the spreadsheet folder" in field_error(page, "config")
    assert '<details class="advanced" open>' in page
    assert moved in shown(page)["config"]
    assert stored("events").config == config  # type: ignore[union-attr]


# -- identity fields -----------------------------------------------------------------------


def test_an_identifier_another_system_exports_is_known(
    client: FlaskClient, login: Callable[[str], str], demo_systems: list[str]
) -> None:
    login("admin")
    config = json.dumps(
        {"path": "${DSAR_SPREADSHEET_DIR}/cards.csv", "match": {"cid": "customer_id"}}
    )
    code, page = post(client, NEW, new_system(client, kind="csv", config=config))
    assert code == 302, page
    assert stored("loyalty").config["match"] == {"cid": "customer_id"}  # type: ignore[union-attr]

    with pytest.raises(SystemInvalid, match=r"'loyalty_id' is not an identity field") as refused:
        systems.create(
            {
                "key": "points",
                "name": "Points API",
                "kind": "http",
                "config": {
                    "base_url": "https://points.example",
                    "identifiers": ["loyalty_id"],
                    "locate": {"path": "/search"},
                },
            },
            actor="tests",
        )
    assert refused.value.field == "config"
    assert "email, phone, name, customer_id (from crm)" in refused.value.message
    assert stored("points") is None


def test_the_systems_file_is_checked_as_a_whole(app: Flask, demo_dir: Path, tmp_path: Path) -> None:
    """A file may list a system before the one that exports its identifier; a spreadsheet
    outside the folder or an unknown identity field stops the whole file."""
    good = tmp_path / "good.toml"
    good.write_text(
        '[[system]]\nkey = "cards"\nname = "Cards"\nkind = "csv"\n[system.config]\n'
        'path = "${DSAR_SPREADSHEET_DIR}/cards.csv"\nmatch = { member = "member_id" }\n'
        '[[system]]\nkey = "members"\nname = "Members"\nkind = "csv"\n[system.config]\n'
        'path = "${DSAR_DEMO_DIR}/members.csv"\nmatch = { email = "email" }\n'
        'exports = { member_id = "number" }\n',
        encoding="utf-8",
    )
    assert registry.load_file(good).added == ["cards", "members"]

    outside = tmp_path / "outside.toml"
    outside.write_text(
        '[[system]]\nkey = "sheet"\nname = "Sheet"\nkind = "csv"\n[system.config]\n'
        f'path = "{tmp_path}/sheet.csv"\nmatch = {{ email = "email" }}\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigFileError, match=r"system #1 \(sheet\): csv system: 'path' .* leads"):
        registry.load_file(outside)
    typo = tmp_path / "typo.toml"
    typo.write_text(
        '[[system]]\nkey = "sheet"\nname = "Sheet"\nkind = "csv"\n[system.config]\n'
        'path = "${DSAR_DEMO_DIR}/sheet.csv"\nmatch = { email = "e_mail" }\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigFileError, match="'e_mail' is not an identity field dsar knows"):
        registry.load_file(typo)
    result = app.test_cli_runner().invoke(args=["dsar", "load-systems", str(outside)])
    assert result.exit_code == 1 and "leads outside the spreadsheet folder" in result.output
    assert stored("sheet") is None


def test_a_spreadsheet_that_left_the_folder_is_not_read(
    app: Flask, demo_systems: list[str], demo_dir: Path, tmp_path: Path
) -> None:
    """Registered before the setting, or its file swapped for a link since: the connector
    refuses it as a failed call would, and says where it must be."""
    (tmp_path / "elsewhere.csv").write_text("email\n", encoding="utf-8")
    events = stored("events")
    assert events is not None
    (demo_dir / "events.csv").unlink()
    (demo_dir / "events.csv").symlink_to(tmp_path / "elsewhere.csv")
    check = systems.test_connection(events)
    assert not check.ok
    assert (
        "leads outside the spreadsheet folder" in check.message and str(demo_dir) in check.message
    )


# -- the setting ---------------------------------------------------------------------------


def test_the_spreadsheet_folder_is_the_demo_folder_unless_set(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    cfg = from_env({"SECRET_KEY": "k"}, instance=instance)
    assert cfg["DSAR_SPREADSHEET_DIR"] == instance / "demo" == cfg["DSAR_DEMO_DIR"]
    demo = from_env({"SECRET_KEY": "k", "DSAR_DEMO_DIR": str(tmp_path / "d")}, instance=instance)
    assert demo["DSAR_SPREADSHEET_DIR"] == tmp_path / "d"
    sheets = tmp_path / "sheets" / ".." / "sheets"
    chosen = from_env({"SECRET_KEY": "k", "DSAR_SPREADSHEET_DIR": str(sheets)}, instance=instance)
    assert chosen["DSAR_SPREADSHEET_DIR"] == tmp_path / "sheets"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sheets", "DSAR_SPREADSHEET_DIR must be an absolute path, got 'sheets'"),
        ("{tmp}", "holds dsar's own folder"),
        ("{tmp}/instance", "holds dsar's own folder"),
    ],
)
def test_a_spreadsheet_folder_that_would_reach_dsars_own_files_is_refused(
    tmp_path: Path, value: str, message: str
) -> None:
    env = {"SECRET_KEY": "k", "DSAR_SPREADSHEET_DIR": value.format(tmp=tmp_path)}
    with pytest.raises(ConfigError, match=re.escape(message)):
        from_env(env, instance=tmp_path / "instance")
